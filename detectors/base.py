"""The PyOD-style contract every detector shares: scores, a fitted threshold_, predict."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence as SequenceOf
from typing import Self

import numpy as np

from detectors.sequences import Sequence
from detectors.tokenizer import NotFittedError

LEGIT = "none"


def threshold_for_flag_rate(scores: np.ndarray, flag_rate: float) -> float:
    """The lowest threshold that flags (score ≥ it) at most ⌈flag_rate · n⌉ of `scores`; when
    ties at the cut would flag more, the next higher score (or just above the top)."""
    if not 0.0 < flag_rate <= 1.0:
        raise ValueError(f"flag rate must be in (0, 1], got {flag_rate}")
    if scores.size == 0:
        raise ValueError("cannot choose a threshold from 0 scores; need ≥ 1")
    budget = max(math.ceil(flag_rate * scores.size), 1)
    cut = float(np.sort(scores)[::-1][budget - 1])
    if int((scores >= cut).sum()) <= budget:
        return cut
    higher = scores[scores > cut]
    return float(higher.min()) if higher.size else float(np.nextafter(cut, np.inf))


def threshold_for_recall(scores: np.ndarray, is_fraud: np.ndarray, recall: float) -> float:
    """The highest threshold that still flags a fraction `recall` of the fraud sequences."""
    if not 0.0 < recall <= 1.0:
        raise ValueError(f"recall must be in (0, 1], got {recall}")
    fraud_scores = np.sort(scores[is_fraud])[::-1]
    if fraud_scores.size == 0:
        raise ValueError(f"no fraud among {scores.size} labelled sequences; cannot target recall")
    return float(fraud_scores[max(math.ceil(recall * fraud_scores.size), 1) - 1])


class BaseDetector(ABC):
    """fit / decision_function (higher = more anomalous) / predict from `threshold_`."""

    contamination: float = 0.05
    threshold_: float | None = None

    @abstractmethod
    def fit(self, sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None = None) -> Self:
        """Learn from sequences; labels are FRAUD_TYPES values ("none" = legit) when known."""

    @abstractmethod
    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        """One anomaly score per sequence, higher = more anomalous."""

    def predict(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        """1 where the score reaches `threshold_`, else 0."""
        threshold = self._fitted_threshold()
        return (self.decision_function(sequences) >= threshold).astype(np.int64)

    def calibrate_threshold(
        self,
        sequences: SequenceOf[Sequence],
        labels: SequenceOf[str] | None = None,
        *,
        target_recall: float | None = None,
        target_flag_rate: float | None = None,
    ) -> float:
        """Set `threshold_` on held-out data: for a fraud recall (needs labels) or a flag rate."""
        scores = self.decision_function(sequences)
        if target_recall is not None:
            if labels is None:
                raise ValueError("target_recall needs labels; give target_flag_rate instead")
            is_fraud = np.asarray([label != LEGIT for label in labels])
            self.threshold_ = threshold_for_recall(scores, is_fraud, target_recall)
        else:
            rate = target_flag_rate if target_flag_rate is not None else self.contamination
            self.threshold_ = threshold_for_flag_rate(scores, rate)
        return self.threshold_

    def _fitted_threshold(self) -> float:
        if self.threshold_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(sequences) first")
        return self.threshold_
