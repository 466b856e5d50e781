"""The metric catalogue: every scalar of a run, over which cases, which way is better."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detectors.quality import FLAG_RATES
from evals.bootstrap import Statistic
from evals.scorers import SYSTEMS
from evals.statistics import (
    ScoreTable,
    accuracy_where_guess_wrong,
    action_agreement,
    end_to_end_recall,
    expected_calibration_error,
    explanation_kinds_rate,
    explanation_kinds_scored,
    faithfulness_rate,
    flag_rate,
    hard_negatives_cleared,
    legit_above_monitor,
    llm_calls_per_1000_users,
    model_answered,
    pr_auc,
    recall_at_flag_budget,
    recall_at_threshold,
    roc_auc,
    type_accuracy,
    type_macro_f1,
    unsafe_rate,
    verdict_rate,
)

RowMask = Callable[[ScoreTable], np.ndarray]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One scalar metric: how to compute it, over which rows, which way is better, if it gates."""

    name: str
    statistic: Statistic
    rows: RowMask
    """The cases it is computed over (their count is reported beside the value)."""
    higher_is_better: bool = True
    headline: bool = False
    relative: bool = False
    """A count, not a share (calls per 1,000 users): a comparison's tolerance is a fraction of
    the reference run's value instead of an absolute difference."""


def _all(table: ScoreTable) -> np.ndarray:
    return np.ones(len(table), dtype=bool)


def _fraud(table: ScoreTable) -> np.ndarray:
    return table["is_fraud"]


def _flagged_by(system: str) -> RowMask:
    return lambda t: t[f"{system}.flagged"]


def _legit(table: ScoreTable) -> np.ndarray:
    return ~table["is_fraud"]


def _flagged_guess_wrong(table: ScoreTable) -> np.ndarray:
    return table["agent.flagged"] & table["guess_wrong"]


def _flagged_hard_negative(table: ScoreTable) -> np.ndarray:
    return table["flagged"] & table["hard_negative"]


def _faithful(column: str) -> Statistic:
    return lambda t: faithfulness_rate(t, column)


def _flagged_injection(table: ScoreTable) -> np.ndarray:
    return table["flagged"] & table["injection"]


def _budget(budget: float) -> Statistic:
    return lambda t: recall_at_flag_budget(t["detector_score"], t["is_fraud"], budget)


def _for(system: str, statistic: Callable[[ScoreTable, str], float]) -> Statistic:
    return lambda t: statistic(t, system)


def _rate(column: str) -> Statistic:
    return lambda t: verdict_rate(t, column)


def _injected(statistic: Statistic) -> Statistic:
    return lambda t: statistic(t.where(t["injection"]))


def metric_specs() -> list[MetricSpec]:
    """Every scalar metric of a run, headline ones marked."""
    specs = [
        MetricSpec("detector.roc_auc", roc_auc, _all, headline=True),
        MetricSpec("detector.pr_auc", pr_auc, _all, headline=True),
        MetricSpec("detector.recall_at_threshold", recall_at_threshold, _fraud, headline=True),
        *(
            MetricSpec(f"detector.recall_at_{budget * 100:g}pct_flagged", _budget(budget), _fraud)
            for budget in FLAG_RATES
        ),
        MetricSpec("detector.flag_rate", flag_rate, _all, higher_is_better=False),
    ]
    for system in SYSTEMS:
        headline = system == "agent"
        flagged = _flagged_by(system)
        for name, per_system, rows, better in (
            ("type_accuracy", type_accuracy, flagged, True),
            ("macro_f1", type_macro_f1, flagged, True),
            ("action_agreement", action_agreement, flagged, True),
            ("unsafe_rate", unsafe_rate, flagged, False),
            ("end_to_end_recall", end_to_end_recall, _fraud, True),
        ):
            specs.append(
                MetricSpec(f"{system}.{name}", _for(system, per_system), rows, better, headline)
            )
    specs.append(MetricSpec("rules_only.flag_rate", _for("rules_only", flag_rate), _all, False))
    for system in SYSTEMS:
        above = _for(system, legit_above_monitor)
        specs.append(
            MetricSpec(f"{system}.legit_above_monitor", above, _legit, False, system == "agent")
        )
        specs.append(
            MetricSpec(
                f"{system}.hard_negatives_cleared",
                _for(system, hard_negatives_cleared),
                _flagged_hard_negative,
            )
        )
    specs += [
        MetricSpec(
            "agent.llm_calls_per_1000_users", llm_calls_per_1000_users, _all, False, relative=True
        ),
        MetricSpec("agent.faithfulness_rate", _faithful("faithful"), model_answered, True, True),
        MetricSpec("agent.cited_kinds_rate", _faithful("cited_kinds_ok"), model_answered),
        MetricSpec("agent.numbers_match_rate", _faithful("numbers_ok"), model_answered),
        MetricSpec(
            "agent.explanation_kinds_rate", explanation_kinds_rate, explanation_kinds_scored
        ),
        MetricSpec("agent.ece", expected_calibration_error, model_answered, False),
        MetricSpec(
            "agent.type_accuracy_where_guess_wrong",
            accuracy_where_guess_wrong,
            _flagged_guess_wrong,
        ),
    ]
    flagged = _flagged_by("agent")
    specs += [
        MetricSpec("agent.schema_valid_rate", _rate("schema_valid"), flagged, True, True),
        MetricSpec("agent.grounding_rate", _rate("grounded"), flagged, True, True),
        MetricSpec("agent.fallback_rate", _rate("fallback"), flagged, False),
        MetricSpec("agent.error_rate", _rate("error"), flagged, False),
    ]
    for name, statistic, better in (
        ("type_accuracy", _for("agent", type_accuracy), True),
        ("action_agreement", _for("agent", action_agreement), True),
        ("unsafe_rate", _for("agent", unsafe_rate), False),
        ("schema_valid_rate", _rate("schema_valid"), True),
    ):
        specs.append(
            MetricSpec(f"injection.{name}", _injected(statistic), _flagged_injection, better)
        )
    return specs
