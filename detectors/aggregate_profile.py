"""How far a user's aggregates (volume, pace, money, outcomes, action mix) are from the typical
legitimate user's: one robust distance per sequence."""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.baselines import aggregate_features
from detectors.sequences import Sequence
from detectors.tokenizer import EventColumns

MAX_Z = 50.0
"""One feature's robust z-score is capped here, so that no single aggregate decides alone."""


@dataclass
class AggregateProfile:
    """Median and spread of each aggregate feature over legitimate sequences."""

    median: list[float]
    scale: list[float]
    """Interquartile range, or the standard deviation where that is larger (features that are
    0 for most users have an IQR of 0)."""

    @classmethod
    def fit(cls, sequences: SequenceOf[Sequence]) -> AggregateProfile:
        if not sequences:
            raise ValueError("cannot profile 0 legitimate sequences; need ≥ 1")
        features = aggregate_features(sequences)
        q1, q3 = np.quantile(features, [0.25, 0.75], axis=0)
        scale = np.maximum(q3 - q1, np.maximum(features.std(axis=0), 1e-3))
        return cls(np.median(features, axis=0).tolist(), scale.tolist())

    def distance(self, sequences: SequenceOf[Sequence] | EventColumns) -> np.ndarray:
        """(B,) root-mean-square of the capped robust z-scores of each sequence's aggregates;
        `sequences` may be their EventColumns."""
        z = (aggregate_features(sequences) - np.asarray(self.median)) / np.asarray(self.scale)
        return np.sqrt((np.minimum(np.abs(z), MAX_Z) ** 2).mean(axis=1))

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AggregateProfile:
        return cls([float(v) for v in data["median"]], [float(v) for v in data["scale"]])
