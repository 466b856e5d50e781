"""Operating-point, calibration and model-down figures on hand-built records."""

from __future__ import annotations

import math

from eval_records import make_record

from evals.eval_cli import model_down_reason
from evals.records import CaseRecord
from evals.statistics import (
    ScoreTable,
    calibration_bins,
    expected_calibration_error,
    explanation_kinds_rate,
    hard_negatives_cleared,
    legit_above_monitor,
    llm_calls_per_1000_users,
)


def _answered(case_id: str, label: str, verdict_type: str, confidence: float) -> CaseRecord:
    record = make_record(case_id, label, verdict_type=verdict_type)
    assert record.verdict is not None
    record.verdict["confidence"] = confidence
    return record.model_copy(update={"cites_needed_kinds": True, "numbers_match": True})


def test_legit_users_above_monitor_count_unflagged_ones_as_allowed() -> None:
    records = [
        make_record("c1", "none", action="hold_order", acceptable=["allow"]),
        make_record("c2", "none", flagged=False),
        make_record("c3", "none", action="monitor"),
        make_record("c4", "card_testing"),
    ]
    table = ScoreTable.from_records(records)
    assert legit_above_monitor(table) == 1 / 3
    assert llm_calls_per_1000_users(table) == 3 / 4 * 1000


def test_hard_negatives_cleared_counts_only_the_flagged_ones() -> None:
    hard = ["hard_negative", "travel"]
    records = [
        make_record("c1", "none", action="step_up_auth", tags=hard),
        make_record("c2", "none", action="allow", tags=hard),
        make_record("c3", "none", action="monitor", tags=hard),
        make_record("c4", "none", flagged=False, tags=hard),
        make_record("c5", "none", action="hold_order", acceptable=["allow"]),
    ]
    table = ScoreTable.from_records(records)
    assert hard_negatives_cleared(table) == 2 / 3
    assert math.isnan(hard_negatives_cleared(ScoreTable.from_records(records[3:])))


def test_ece_is_zero_when_confidence_matches_accuracy_and_grows_when_overconfident() -> None:
    calibrated = [_answered(f"c{i}", "card_testing", "card_testing", 1.0) for i in range(4)]
    overconfident = [
        _answered(f"c{i}", "card_testing", "card_testing" if i < 2 else "none", 0.95)
        for i in range(4)
    ]
    assert expected_calibration_error(ScoreTable.from_records(calibrated)) == 0.0
    table = ScoreTable.from_records(overconfident)
    assert math.isclose(expected_calibration_error(table), 0.45)
    assert calibration_bins(table) == [
        {"low": 0.9, "high": 1.0, "confidence": 0.95, "accuracy": 0.5, "n": 4}
    ]


def test_a_run_of_unreachable_fallbacks_is_a_model_down_run() -> None:
    down = make_record("c1", "card_testing", fallback=True)
    assert down.verdict is not None
    down.verdict["fallback_reason"] = "model call failed after 1 attempt(s): connection refused"
    answered = make_record("c2", "card_testing")
    assert model_down_reason([down]) == (
        "every one of 1 verdicts is a fallback: model call failed after 1 attempt(s): "
        "connection refused"
    )
    assert model_down_reason([down, answered]) is None
    assert model_down_reason([make_record("c3", "none", flagged=False)]) is None


def test_explanation_kinds_count_only_runs_that_scored_them() -> None:
    records = [
        make_record("c1", "card_testing").model_copy(update={"explanation_kinds": True}),
        make_record("c2", "card_testing").model_copy(update={"explanation_kinds": False}),
        make_record("c3", "card_testing"),  # recorded before the scorer: not counted
    ]
    assert explanation_kinds_rate(ScoreTable.from_records(records)) == 0.5
    assert math.isnan(explanation_kinds_rate(ScoreTable.from_records(records[2:])))
