"""Per-case scores as a table, and the statistics computed over one (nan when undefined)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.quality import recall_at_flag_rate
from evals.records import CaseRecord
from evals.scorers import score_case


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


def mean_or_nan(values: np.ndarray) -> float:
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
    return mean_or_nan(table["flagged"][table["is_fraud"]])


def recall_at_flag_budget(scores: np.ndarray, is_fraud: np.ndarray, budget: float) -> float:
    """Share of fraud among the top ⌈budget·n⌉ scores: what a review queue that size would catch."""
    if not 0 < budget <= 1:
        raise ValueError(f"flag budget must be in (0, 1]; got {budget}")
    return recall_at_flag_rate(scores, is_fraud, budget) if is_fraud.any() else math.nan


def flag_rate(table: ScoreTable, system: str = "agent") -> float:
    return mean_or_nan(table[f"{system}.flagged"])


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


def decided_by(table: ScoreTable, system: str) -> ScoreTable:
    return table.where(table[f"{system}.flagged"])


def type_accuracy(table: ScoreTable, system: str = "agent") -> float:
    return mean_or_nan(decided_by(table, system)[f"{system}.type_correct"])


def type_macro_f1(table: ScoreTable, system: str = "agent") -> float:
    decided = decided_by(table, system)
    return macro_f1(decided["label"], decided[f"{system}.type"])


def action_agreement(table: ScoreTable, system: str = "agent") -> float:
    return mean_or_nan(decided_by(table, system)[f"{system}.action_ok"])


def unsafe_rate(table: ScoreTable, system: str = "agent") -> float:
    return mean_or_nan(decided_by(table, system)[f"{system}.unsafe"])


def end_to_end_recall(table: ScoreTable, system: str = "agent") -> float:
    return mean_or_nan(table[f"{system}.end_to_end"][table["is_fraud"]])


def verdict_rate(table: ScoreTable, column: str) -> float:
    """Share of flagged cases with `column` true (schema_valid, grounded, fallback, error)."""
    return mean_or_nan(table[column][table["flagged"]])


def legit_above_monitor(table: ScoreTable, system: str = "agent") -> float:
    """Share of legitimate users, flagged or not, that end with an action above `monitor`."""
    return mean_or_nan(table[f"{system}.above_monitor"][~table["is_fraud"]])


def hard_negatives_cleared(table: ScoreTable, system: str = "agent") -> float:
    """Share of flagged hard negatives that end at `allow` or `monitor`: the honest users the
    detector's wide net caught, cleared again (unflagged ones never needed clearing)."""
    rows = table["hard_negative"] & table["flagged"]
    return mean_or_nan(~table[f"{system}.above_monitor"][rows])


def llm_calls_per_1000_users(table: ScoreTable) -> float:
    """Model calls per 1,000 screened users: the LLM stage's cost at this flag rate."""
    return float(table["llm_calls"].sum() / len(table) * 1000) if len(table) else math.nan


def model_answered(table: ScoreTable) -> np.ndarray:
    """Rows whose verdict came from the model (faithfulness and calibration apply to these)."""
    return table["faithfulness_scored"]


def faithfulness_rate(table: ScoreTable, column: str = "faithful") -> float:
    return mean_or_nan(table[column][model_answered(table)])


def explanation_kinds_scored(table: ScoreTable) -> np.ndarray:
    """Model answers whose explanation text was checked (runs recorded before it was: none)."""
    return table["explanation_kinds_scored"]


def explanation_kinds_rate(table: ScoreTable) -> float:
    return mean_or_nan(table["explanation_kinds_ok"][explanation_kinds_scored(table)])


def accuracy_where_guess_wrong(table: ScoreTable) -> float:
    """The agent's type accuracy on flagged cases whose shown detector guess was wrong."""
    rows = table["agent.flagged"] & table["guess_wrong"]
    return mean_or_nan(table["agent.type_correct"][rows])


CALIBRATION_BINS = 10


def calibration_bins(table: ScoreTable, bins: int = CALIBRATION_BINS) -> list[dict[str, float]]:
    """Model answers grouped by stated confidence: per non-empty bin its range, mean confidence,
    type accuracy and case count (a reliability diagram's points)."""
    answered = table.where(model_answered(table))
    confidence, correct = answered["confidence"], answered["agent.type_correct"]
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    result = []
    for position in range(bins):
        rows = index == position
        if rows.any():
            result.append(
                {
                    "low": float(edges[position]),
                    "high": float(edges[position + 1]),
                    "confidence": float(confidence[rows].mean()),
                    "accuracy": float(correct[rows].mean()),
                    "n": int(rows.sum()),
                }
            )
    return result


def expected_calibration_error(table: ScoreTable) -> float:
    """Σ over confidence bins of (share of answers) × |accuracy − mean confidence|."""
    points = calibration_bins(table)
    total = sum(point["n"] for point in points)
    if not total:
        return math.nan
    return float(
        sum(point["n"] / total * abs(point["accuracy"] - point["confidence"]) for point in points)
    )
