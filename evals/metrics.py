"""Aggregate metrics of an eval run, each scalar with a seeded bootstrap 95 % interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.cases import FRAUD_TYPES
from detectors.quality import FLAG_RATES, recall_at_flag_rate
from evals.run_dir import CaseRecord
from evals.scorers import SYSTEMS, score_case


class ScoreTable:
    """Per-case scores as columns; `take` gives a lazily indexed view (cheap to bootstrap)."""

    def __init__(self, columns: Mapping[str, np.ndarray], index: np.ndarray | None = None) -> None:
        self._columns = dict(columns)
        self._index = index
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def from_records(cls, records: Iterable[CaseRecord]) -> ScoreTable:
        rows = [score_case(record) for record in records]
        if not rows:
            raise ValueError("no scored cases: the run has 0 finished cases")
        return cls({name: np.array([row[name] for row in rows]) for name in rows[0]})

    def __len__(self) -> int:
        if self._index is not None:
            return len(self._index)
        return len(next(iter(self._columns.values())))

    def __getitem__(self, name: str) -> np.ndarray:
        if self._index is None:
            return self._columns[name]
        if name not in self._cache:
            self._cache[name] = self._columns[name][self._index]
        return self._cache[name]

    def take(self, index: np.ndarray) -> ScoreTable:
        base = index if self._index is None else self._index[index]
        return ScoreTable(self._columns, base)

    def where(self, mask: np.ndarray) -> ScoreTable:
        return self.take(np.flatnonzero(mask))

    def aligned_with(self, other: ScoreTable) -> tuple[ScoreTable, ScoreTable]:
        """Both tables restricted to their common case ids, rows in the same order."""
        position = {case_id: i for i, case_id in enumerate(other["case_id"])}
        mine = [i for i, case_id in enumerate(self["case_id"]) if case_id in position]
        if not mine:
            raise ValueError(f"the runs share 0 cases ({len(self)} and {len(other)} cases)")
        theirs = [position[self["case_id"][i]] for i in mine]
        return self.take(np.array(mine)), other.take(np.array(theirs))


# --- statistics over a whole table (nan when undefined on these rows) -----------------------


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def roc_auc(table: ScoreTable) -> float:
    labels = table["is_fraud"]
    if labels.all() or not labels.any():
        return math.nan
    return float(roc_auc_score(labels, table["detector_score"]))


def pr_auc(table: ScoreTable) -> float:
    labels = table["is_fraud"]
    if not labels.any():
        return math.nan
    return float(average_precision_score(labels, table["detector_score"]))


def recall_at_threshold(table: ScoreTable) -> float:
    return _mean(table["flagged"][table["is_fraud"]])


def recall_at_flag_budget(scores: np.ndarray, is_fraud: np.ndarray, budget: float) -> float:
    """Share of fraud among the top ⌈budget·n⌉ scores: what a review queue that size would catch."""
    if not 0 < budget <= 1:
        raise ValueError(f"flag budget must be in (0, 1]; got {budget}")
    return recall_at_flag_rate(scores, is_fraud, budget) if is_fraud.any() else math.nan


def flag_rate(table: ScoreTable, system: str = "agent") -> float:
    return _mean(table[f"{system}.flagged"])


def macro_f1(true: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 over the types present in `true`; a wrong prediction of any other type still
    costs its case's type a false negative (sklearn's macro average with those labels)."""
    if not len(true):
        return math.nan
    scores = []
    for label in np.unique(true):
        tp = np.sum((true == label) & (predicted == label))
        wrong = np.sum((true == label) != (predicted == label))
        scores.append(2 * tp / (2 * tp + wrong))
    return float(np.mean(scores))


def _decided(table: ScoreTable, system: str) -> ScoreTable:
    return table.where(table[f"{system}.flagged"])


def type_accuracy(table: ScoreTable, system: str = "agent") -> float:
    return _mean(_decided(table, system)[f"{system}.type_correct"])


def type_macro_f1(table: ScoreTable, system: str = "agent") -> float:
    decided = _decided(table, system)
    return macro_f1(decided["label"], decided[f"{system}.type"])


def action_agreement(table: ScoreTable, system: str = "agent") -> float:
    return _mean(_decided(table, system)[f"{system}.action_ok"])


def unsafe_rate(table: ScoreTable, system: str = "agent") -> float:
    return _mean(_decided(table, system)[f"{system}.unsafe"])


def end_to_end_recall(table: ScoreTable, system: str = "agent") -> float:
    return _mean(table[f"{system}.end_to_end"][table["is_fraud"]])


def verdict_rate(table: ScoreTable, column: str) -> float:
    """Share of flagged cases with `column` true (schema_valid, grounded, fallback, error)."""
    return _mean(table[column][table["flagged"]])


# --- bootstrap -------------------------------------------------------------------------------

Statistic = Callable[[ScoreTable], float]


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    table: ScoreTable,
    statistics: Mapping[str, Statistic],
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap over cases; every statistic sees the same resamples."""
    rng = np.random.default_rng(seed)
    samples = {name: np.empty(rounds) for name in statistics}
    for round_ in range(rounds):
        resample = table.take(rng.integers(0, len(table), len(table)))
        for name, statistic in statistics.items():
            samples[name][round_] = statistic(resample)
    return {name: _interval(values, level) for name, values in samples.items()}


def bootstrap_ci(
    table: ScoreTable, statistic: Statistic, rounds: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    return bootstrap_intervals(table, {"value": statistic}, rounds, seed, level)["value"]


def paired_bootstrap_diff(
    table_a: ScoreTable,
    table_b: ScoreTable,
    statistics: Mapping[str, Statistic],
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float, float]]:
    """B − A on the cases both runs share, with an interval from resampling those cases jointly."""
    a, b = table_a.aligned_with(table_b)
    rng = np.random.default_rng(seed)
    samples = {name: np.empty(rounds) for name in statistics}
    for round_ in range(rounds):
        index = rng.integers(0, len(a), len(a))
        resample_a, resample_b = a.take(index), b.take(index)
        for name, statistic in statistics.items():
            samples[name][round_] = statistic(resample_b) - statistic(resample_a)
    return {
        name: (statistic(b) - statistic(a), *_interval(samples[name], level))
        for name, statistic in statistics.items()
    }


# --- the metric catalogue --------------------------------------------------------------------

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


def _all(table: ScoreTable) -> np.ndarray:
    return np.ones(len(table), dtype=bool)


def _fraud(table: ScoreTable) -> np.ndarray:
    return table["is_fraud"]


def _flagged_by(system: str) -> RowMask:
    return lambda t: t[f"{system}.flagged"]


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


# --- tables and cost, without intervals ------------------------------------------------------


def per_type_recall(table: ScoreTable, column: str) -> dict[str, dict[str, float | int]]:
    """For each fraud type present: share of its cases with `column` true, and the case count."""
    result: dict[str, dict[str, float | int]] = {}
    for fraud_type in FRAUD_TYPES[1:]:
        rows = table["label"] == fraud_type
        if rows.any():
            result[fraud_type] = {"recall": _mean(table[column][rows]), "n": int(rows.sum())}
    return result


def confusion(table: ScoreTable, system: str = "agent") -> dict[str, Any]:
    """Confusion matrix of true vs decided type over the cases `system` flagged (FRAUD_TYPES order),
    with per-type precision, recall and support."""
    decided = _decided(table, system)
    position = {fraud_type: i for i, fraud_type in enumerate(FRAUD_TYPES)}
    matrix = np.zeros((len(FRAUD_TYPES), len(FRAUD_TYPES)), dtype=int)
    for true, predicted in zip(decided["label"], decided[f"{system}.type"], strict=True):
        matrix[position[true], position[predicted]] += 1
    per_type = {}
    for i, fraud_type in enumerate(FRAUD_TYPES):
        support, predicted = int(matrix[i].sum()), int(matrix[:, i].sum())
        if support or predicted:
            per_type[fraud_type] = {
                "precision": matrix[i, i] / predicted if predicted else None,
                "recall": matrix[i, i] / support if support else None,
                "support": support,
            }
    return {"labels": list(FRAUD_TYPES), "matrix": matrix.tolist(), "per_type": per_type}


def flag_share_for_recall(scores: np.ndarray, is_fraud: np.ndarray, recall: float) -> float:
    """Smallest share of cases, taken by score, that holds `recall` of the fraud."""
    if not is_fraud.any():
        return math.nan
    caught = np.cumsum(is_fraud[np.argsort(-scores, kind="stable")])
    needed = math.ceil(recall * is_fraud.sum())
    return float((np.searchsorted(caught, needed) + 1) / len(scores))


def cost_summary(table: ScoreTable, wall_s: float | None) -> dict[str, float | int | None]:
    """LLM calls, tokens, verdict latency, wall time and what the pre-screen saved."""
    cases, flagged = len(table), int(table["flagged"].sum())
    verdicts = table.where(table["has_verdict"])
    calls = int(table["llm_calls"].sum())
    per_verdict = calls / flagged if flagged else math.nan
    share_95 = flag_share_for_recall(table["detector_score"], table["is_fraud"], 0.95)
    latencies = verdicts["latency_s"]
    return _finite_values(
        {
            "cases": cases,
            "verdicts_requested": flagged,
            "llm_calls": calls,
            "prompt_tokens": int(table["prompt_tokens"].sum()),
            "completion_tokens": int(table["completion_tokens"].sum()),
            "prompt_tokens_per_verdict": _mean(verdicts["prompt_tokens"]),
            "completion_tokens_per_verdict": _mean(verdicts["completion_tokens"]),
            "latency_p50_s": float(np.percentile(latencies, 50)) if len(latencies) else None,
            "latency_p95_s": float(np.percentile(latencies, 95)) if len(latencies) else None,
            "wall_s": wall_s,
            "llm_calls_if_every_case_sent": per_verdict * cases,
            "prescreen_saving_factor": cases / flagged if flagged else None,
            "flag_share_for_95pct_recall": share_95,
            "prescreen_saving_factor_at_95pct_recall": 1 / share_95 if share_95 > 0 else None,
        }
    )


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _finite_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _finite(value) if isinstance(value, float) else value for key, value in values.items()
    }


def summarize_run(
    records: list[CaseRecord], wall_s: float | None = None, rounds: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Everything `metrics.json` holds: scalars with intervals, per-type tables, cost."""
    table = ScoreTable.from_records(records)
    specs = metric_specs()
    intervals = bootstrap_intervals(table, {s.name: s.statistic for s in specs}, rounds, seed)
    scalars = {}
    for spec in specs:
        low, high = intervals[spec.name]
        scalars[spec.name] = {
            "value": _finite(spec.statistic(table)),
            "ci95": [_finite(low), _finite(high)],
            "n": int(spec.rows(table).sum()),
            "higher_is_better": spec.higher_is_better,
            "headline": spec.headline,
        }
    return {
        "cases": len(table),
        "fraud_cases": int(table["is_fraud"].sum()),
        "flagged_cases": int(table["flagged"].sum()),
        "injection_cases": int(table["injection"].sum()),
        "cases_by_type": {
            fraud_type: int(np.sum(table["label"] == fraud_type))
            for fraud_type in FRAUD_TYPES
            if np.any(table["label"] == fraud_type)
        },
        "bootstrap": {"rounds": rounds, "seed": seed, "level": 0.95},
        "scalars": scalars,
        "detector_recall_by_type": per_type_recall(table, "flagged"),
        "end_to_end_recall_by_type": per_type_recall(table, "agent.end_to_end"),
        "verdict_confusion": confusion(table, "agent"),
        "cost": cost_summary(table, wall_s),
    }
