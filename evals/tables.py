"""Per-type tables, the confusion matrix and cost: reported without intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from detectors.cases import FRAUD_TYPES
from evals.statistics import ScoreTable, decided_by, mean_or_nan, model_answered


def per_type_recall(table: ScoreTable, column: str) -> dict[str, dict[str, float | int]]:
    """For each fraud type present: share of its cases with `column` true, and the case count."""
    result: dict[str, dict[str, float | int]] = {}
    for fraud_type in FRAUD_TYPES[1:]:
        rows = table["label"] == fraud_type
        if rows.any():
            result[fraud_type] = {"recall": mean_or_nan(table[column][rows]), "n": int(rows.sum())}
    return result


def faithfulness_by_type(table: ScoreTable) -> dict[str, dict[str, float | int]]:
    """Per type the model chose, over its own answers: the share faithful (cited kinds and
    stated numbers both right), each part, and the count."""
    answered = table.where(model_answered(table))
    result: dict[str, dict[str, float | int]] = {}
    for fraud_type in FRAUD_TYPES:
        rows = answered["agent.type"] == fraud_type
        if rows.any():
            result[fraud_type] = {
                "faithful": mean_or_nan(answered["faithful"][rows]),
                "cited_kinds": mean_or_nan(answered["cited_kinds_ok"][rows]),
                "numbers": mean_or_nan(answered["numbers_ok"][rows]),
                "n": int(rows.sum()),
            }
    return result


def confusion(table: ScoreTable, system: str = "agent") -> dict[str, Any]:
    """Confusion matrix of true vs decided type over the cases `system` flagged (FRAUD_TYPES order),
    with per-type precision, recall and support."""
    decided = decided_by(table, system)
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
    return finite_values(
        {
            "cases": cases,
            "verdicts_requested": flagged,
            "llm_calls": calls,
            "prompt_tokens": int(table["prompt_tokens"].sum()),
            "completion_tokens": int(table["completion_tokens"].sum()),
            "prompt_tokens_per_verdict": mean_or_nan(verdicts["prompt_tokens"]),
            "completion_tokens_per_verdict": mean_or_nan(verdicts["completion_tokens"]),
            "latency_p50_s": float(np.percentile(latencies, 50)) if len(latencies) else None,
            "latency_p95_s": float(np.percentile(latencies, 95)) if len(latencies) else None,
            "wall_s": wall_s,
            "llm_calls_if_every_case_sent": per_verdict * cases,
            "prescreen_saving_factor": cases / flagged if flagged else None,
            "flag_share_for_95pct_recall": share_95,
            "prescreen_saving_factor_at_95pct_recall": 1 / share_95 if share_95 > 0 else None,
        }
    )


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def finite_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: finite_or_none(value) if isinstance(value, float) else value
        for key, value in values.items()
    }
