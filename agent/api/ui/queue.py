"""The analyst's queue: alerts and cases with their status, score and age, filtered and sorted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from agent.api.store import QueueRow
from agent.render.time_format import format_duration
from detectors.cases import FRAUD_TYPES, RISK_ACTIONS

QueueStatus = Literal["pending", "awaiting_approval", "done", "retry"]
QUEUE_STATUSES: tuple[QueueStatus, ...] = ("pending", "awaiting_approval", "done", "retry")
STATUS_LABELS: dict[str, str] = {
    "pending": "pending",
    "awaiting_approval": "awaiting approval",
    "done": "done",
    "retry": "retry",
}
QueueSort = Literal["score", "age"]
QUEUE_LIMIT = 1000
"""Most recent alerts the queue reads; older ones are reached by case id."""


@dataclass(frozen=True, slots=True)
class QueueFilters:
    status: QueueStatus | None = None
    fraud_type: str | None = None
    action: str | None = None
    """The verdict's action, or the action awaiting approval."""
    sort: QueueSort = "score"
    """`score`: highest detector score first, older first among equals; `age`: oldest first."""


@dataclass(frozen=True, slots=True)
class QueueItem:
    case_id: str
    user_id: str
    status: QueueStatus
    score: float | None
    fraud_type: str | None
    action: str | None
    awaiting: str | None
    """The severe action held for approval, if any."""
    confidence: float | None
    fallback: bool
    age: str
    created_at: float


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: list[QueueItem]
    counts: dict[str, int]
    """Alerts per status, over the whole queue."""
    total: int
    filters: QueueFilters


def queue_status(row: QueueRow) -> QueueStatus:
    if row.status == "done" and row.verdict and row.verdict.get("awaiting_approval"):
        return "awaiting_approval"
    if row.status in ("pending", "retry"):
        return row.status  # type: ignore[return-value]
    return "done"


def queue_item(row: QueueRow, now: float) -> QueueItem:
    verdict = row.verdict or {}
    score = verdict.get("detector_score")
    return QueueItem(
        case_id=row.case_id,
        user_id=row.user_id,
        status=queue_status(row),
        score=float(score) if score is not None else None,
        fraud_type=verdict.get("fraud_type"),
        action=verdict.get("action"),
        awaiting=verdict.get("awaiting_approval"),
        confidence=verdict.get("confidence"),
        fallback=verdict.get("fallback_reason") is not None,
        age=format_duration(now - row.created_at),
        created_at=row.created_at,
    )


def _matches(item: QueueItem, filters: QueueFilters) -> bool:
    if filters.status is not None and item.status != filters.status:
        return False
    if filters.fraud_type is not None and item.fraud_type != filters.fraud_type:
        return False
    return filters.action is None or filters.action in (item.action, item.awaiting)


def build_queue(rows: list[QueueRow], filters: QueueFilters, now: float) -> QueuePage:
    items = [queue_item(row, now) for row in rows]
    counts = Counter(item.status for item in items)
    chosen = [item for item in items if _matches(item, filters)]
    if filters.sort == "age":
        chosen.sort(key=lambda item: item.created_at)
    else:
        # Unscored (pending) alerts last; among equal scores the one waiting longest first.
        chosen.sort(key=lambda item: (item.score is None, -(item.score or 0.0), item.created_at))
    return QueuePage(
        items=chosen,
        counts={status: counts.get(status, 0) for status in QUEUE_STATUSES},
        total=len(items),
        filters=filters,
    )


def queue_filters(status: str, fraud_type: str, action: str, sort: str) -> QueueFilters:
    """Filters from the queue's query string; an empty value means any. Raises ValueError
    naming the parameter and the values it takes."""
    choices: dict[str, tuple[str, tuple[str, ...]]] = {
        "status": (status, QUEUE_STATUSES),
        "fraud_type": (fraud_type, FRAUD_TYPES),
        "action": (action, RISK_ACTIONS),
        "sort": (sort or "score", ("score", "age")),
    }
    for name, (value, allowed) in choices.items():
        if value and value not in allowed:
            raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return QueueFilters(
        status=status or None,  # type: ignore[arg-type]
        fraud_type=fraud_type or None,
        action=action or None,
        sort=sort or "score",  # type: ignore[arg-type]
    )
