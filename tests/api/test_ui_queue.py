"""The queue's statuses, filters, counts and order, from stored rows (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.api.store import QueueRow
from agent.api.ui.queue import QueueFilters, build_queue, queue_filters

NOW = 1_800_000_000.0


def row(case_id: str, status: str, age_s: float, **verdict: Any) -> QueueRow:
    return QueueRow(
        case_id, case_id, f"user-{case_id}", status, None, NOW - age_s, NOW, verdict or None
    )


ROWS = [
    row("pending-new", "pending", 10),
    row(
        "held",
        "done",
        600,
        detector_score=0.9,
        fraud_type="account_takeover",
        action="manual_review",
        awaiting_approval="block_account",
        confidence=0.8,
    ),
    row("low-old", "done", 7200, detector_score=0.4, fraud_type="none", action="allow"),
    row(
        "high-new", "done", 60, detector_score=0.95, fraud_type="card_testing", action="hold_order"
    ),
    row(
        "high-old",
        "done",
        3600,
        detector_score=0.95,
        fraud_type="card_testing",
        action="hold_order",
    ),
    row(
        "fell-back",
        "retry",
        300,
        detector_score=0.7,
        fraud_type="none",
        action="manual_review",
        fallback_reason="model server unreachable",
    ),
]


def ids(filters: QueueFilters) -> list[str]:
    return [item.case_id for item in build_queue(ROWS, filters, NOW).items]


def test_counts_per_status_with_held_verdicts_apart() -> None:
    page = build_queue(ROWS, QueueFilters(), NOW)
    assert page.counts == {"pending": 1, "awaiting_approval": 1, "done": 3, "retry": 1}
    assert page.total == 6


def test_highest_score_first_then_longest_waiting_and_unscored_last() -> None:
    assert ids(QueueFilters()) == [
        "high-old",
        "high-new",
        "held",
        "fell-back",
        "low-old",
        "pending-new",
    ]


def test_oldest_first() -> None:
    assert ids(QueueFilters(sort="age")) == [
        "low-old",
        "high-old",
        "held",
        "fell-back",
        "high-new",
        "pending-new",
    ]


def test_filters_by_status_type_and_action_including_the_held_one() -> None:
    assert ids(QueueFilters(status="awaiting_approval")) == ["held"]
    assert ids(QueueFilters(status="done", fraud_type="card_testing")) == ["high-old", "high-new"]
    assert ids(QueueFilters(action="block_account")) == ["held"]
    assert ids(QueueFilters(status="retry")) == ["fell-back"]


def test_item_shows_age_and_fallback() -> None:
    [item] = build_queue(ROWS, QueueFilters(status="retry"), NOW).items
    assert item.age == "5m00s" and item.fallback and item.score == 0.7


def test_unknown_filter_values_are_refused_with_the_choices() -> None:
    assert queue_filters("", "", "", "") == QueueFilters()
    with pytest.raises(ValueError, match="status 'open' is not one of pending, awaiting_approval"):
        queue_filters("open", "", "", "")
    with pytest.raises(ValueError, match="sort 'newest'"):
        queue_filters("", "", "", "newest")
