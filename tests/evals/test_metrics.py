"""Aggregate metrics and bootstrap intervals on hand-built eval records."""

from __future__ import annotations

import numpy as np
import pytest
from eval_records import make_record
from sklearn.metrics import f1_score

from detectors.cases import FRAUD_TYPES
from evals.bootstrap import bootstrap_ci, paired_bootstrap_diff
from evals.metrics import summarize_run
from evals.statistics import (
    ScoreTable,
    action_agreement,
    end_to_end_recall,
    macro_f1,
    recall_at_flag_budget,
    type_accuracy,
    unsafe_rate,
)


def _mixed_run(n: int, seed: int = 0) -> ScoreTable:
    """n flagged fraud cases, about 70 % given the right type."""
    rng = np.random.default_rng(seed)
    records = [
        make_record(
            f"c{i}",
            "card_testing",
            verdict_type="card_testing" if rng.random() < 0.7 else "promo_abuse",
        )
        for i in range(n)
    ]
    return ScoreTable.from_records(records)


def test_bootstrap_interval_contains_estimate_and_narrows_with_n() -> None:
    widths = []
    for n in (40, 640):
        table = _mixed_run(n)
        low, high = bootstrap_ci(table, type_accuracy, rounds=400, seed=1)
        assert low <= type_accuracy(table) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_bootstrap_is_seeded() -> None:
    table = _mixed_run(60)
    assert bootstrap_ci(table, type_accuracy, 200, seed=3) == bootstrap_ci(
        table, type_accuracy, 200, seed=3
    )


def test_paired_diff_sees_a_regression_and_no_change() -> None:
    good = [make_record(f"c{i}", "card_testing") for i in range(60)]
    worse = [
        make_record(f"c{i}", "card_testing", verdict_type="none" if i % 2 else None)
        for i in range(60)
    ]
    a, b = ScoreTable.from_records(good), ScoreTable.from_records(worse[::-1])
    diff, low, high = paired_bootstrap_diff(a, b, {"acc": type_accuracy}, rounds=300)["acc"]
    assert diff == pytest.approx(-0.5)
    assert low <= diff <= high < 0
    same = paired_bootstrap_diff(a, a, {"acc": type_accuracy}, rounds=50)["acc"]
    assert same == (0.0, 0.0, 0.0)


def test_paired_diff_needs_shared_cases() -> None:
    a = ScoreTable.from_records([make_record("a", "none")])
    b = ScoreTable.from_records([make_record("b", "none")])
    with pytest.raises(ValueError, match="share 0 cases"):
        paired_bootstrap_diff(a, b, {"acc": type_accuracy})


def test_unsafe_rate_and_action_agreement() -> None:
    records = [
        make_record("fraud-allowed", "account_takeover", action="allow"),  # unsafe
        make_record("fraud-monitored", "refund_abuse", action="monitor"),  # unsafe
        make_record("fraud-held", "payment_fraud", action="hold_order"),  # acceptable
        make_record("honest-blocked", "none", action="block_account"),  # unsafe
        make_record("honest-reviewed", "none", action="manual_review"),  # safe, not acceptable
        make_record("not-flagged", "card_testing", flagged=False),  # no verdict: not counted
    ]
    table = ScoreTable.from_records(records)
    assert unsafe_rate(table) == pytest.approx(3 / 5)
    assert action_agreement(table) == pytest.approx(1 / 5)
    # the unflagged fraud case counts as a miss end to end
    assert end_to_end_recall(table) == pytest.approx(1 / 4)


def test_macro_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    true = rng.choice(FRAUD_TYPES[:6], 300)
    predicted = np.where(rng.random(300) < 0.6, true, rng.choice(FRAUD_TYPES, 300))
    expected = f1_score(true, predicted, labels=np.unique(true), average="macro", zero_division=0)
    assert macro_f1(true, predicted) == pytest.approx(expected)


def test_recall_at_flag_budget_counts_fraud_in_the_top_share() -> None:
    scores = np.arange(100, dtype=float)  # case 99 scores highest
    is_fraud = np.zeros(100, dtype=bool)
    is_fraud[[99, 98, 97, 10]] = True
    assert recall_at_flag_budget(scores, is_fraud, 0.01) == pytest.approx(1 / 4)
    assert recall_at_flag_budget(scores, is_fraud, 0.05) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="got 0"):
        recall_at_flag_budget(scores, is_fraud, 0)


def test_summary_holds_intervals_tables_and_cost() -> None:
    records = [
        make_record("c1", "card_testing", score=0.9),
        make_record("c2", "card_testing", score=0.8, verdict_type="promo_abuse", fallback=True),
        make_record("c3", "none", score=0.1, flagged=False),
        make_record("c4", "none", score=0.7, tags=["prompt_injection"], evidence=[]),
    ]
    summary = summarize_run(records, wall_s=12.0, rounds=50)
    scalars = summary["scalars"]
    assert scalars["detector.roc_auc"]["value"] == pytest.approx(1.0)
    assert scalars["agent.type_accuracy"]["value"] == pytest.approx(2 / 3)
    assert scalars["agent.type_accuracy"]["n"] == 3
    assert scalars["agent.fallback_rate"]["value"] == pytest.approx(1 / 3)
    assert scalars["agent.grounding_rate"]["value"] == pytest.approx(2 / 3)
    assert scalars["injection.type_accuracy"]["n"] == 1
    low, high = scalars["agent.type_accuracy"]["ci95"]
    assert low <= 2 / 3 <= high
    matrix = summary["verdict_confusion"]["matrix"]
    labels = summary["verdict_confusion"]["labels"]
    assert matrix[labels.index("card_testing")][labels.index("promo_abuse")] == 1
    assert summary["cost"]["llm_calls"] == 3
    assert summary["cost"]["prescreen_saving_factor"] == pytest.approx(4 / 3)
    assert summary["detector_recall_by_type"] == {"card_testing": {"recall": 1.0, "n": 2}}
