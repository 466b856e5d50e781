"""How well anomaly scores rank fraud: ROC-AUC, PR-AUC, recall at a flag rate."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

FLAG_RATES = (0.01, 0.05)
"""Review budgets reported: the share of users an analyst queue could look at."""


def recall_at_flag_rate(scores: np.ndarray, is_fraud: np.ndarray, flag_rate: float) -> float:
    """Share of the fraud found among the top ⌈flag_rate · n⌉ scores."""
    top = np.argsort(-scores, kind="stable")[: max(1, math.ceil(flag_rate * scores.size))]
    return float(is_fraud[top].sum() / max(int(is_fraud.sum()), 1))


def ranking_metrics(scores: np.ndarray, is_fraud: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC and recall at each of FLAG_RATES; needs both classes present."""
    positives = int(is_fraud.sum())
    if positives in (0, is_fraud.size):
        raise ValueError(f"{positives} fraud among {is_fraud.size} sequences; need both classes")
    metrics = {
        "roc_auc": float(roc_auc_score(is_fraud, scores)),
        "pr_auc": float(average_precision_score(is_fraud, scores)),
    }
    for rate in FLAG_RATES:
        metrics[f"recall@{rate:.0%}"] = recall_at_flag_rate(scores, is_fraud, rate)
    return metrics
