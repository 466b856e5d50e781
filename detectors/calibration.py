"""Each score signal as a tail probability on legitimate traffic, and their min-p fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TAIL_QUANTILE = 0.9
"""Beyond the largest reference value the tail keeps falling as 1 / (1 + excess / scale), with
the scale taken from the distance between the largest value and this quantile of the reference.
(A heavy tail rather than an exponential one: scores of extreme sequences stay apart in
float64 instead of all rounding to 1.)"""


@dataclass
class TailCalibration:
    """P(a legitimate sequence scores ≥ v) for one signal, from reference (legitimate) values.

    At each reference value it is the empirical tail (1 + #{ref ≥ v}) / (n + 1), linear in
    between (so that few scores tie); above the largest reference value it keeps falling, so
    that the most extreme values still rank among themselves.
    """

    reference: list[float]
    """Sorted reference values (a bounded set of quantiles when there were many)."""
    count: int
    """How many legitimate sequences the reference stands for."""
    tail_scale: float

    @classmethod
    def fit(cls, values: np.ndarray, max_points: int = 512) -> TailCalibration:
        if values.size == 0:
            raise ValueError("cannot calibrate a signal on 0 legitimate sequences; need ≥ 1")
        ordered = np.sort(values.astype(np.float64))
        if ordered.size > max_points:
            ordered = np.asarray(np.quantile(ordered, np.linspace(0.0, 1.0, max_points)))
        top = float(ordered[-1])
        scale = top - float(np.quantile(ordered, TAIL_QUANTILE))
        if scale <= 0:
            scale = max(abs(top), 1.0) * 0.05
        return cls([float(v) for v in ordered], int(values.size), scale)

    def tail_probability(self, values: np.ndarray) -> np.ndarray:
        """(N,) P(legitimate ≥ value) for each value."""
        reference = np.asarray(self.reference)
        distinct, first = np.unique(reference, return_index=True)
        share_at_or_above = 1.0 - first / reference.size
        empirical = (1.0 + share_at_or_above * self.count) / (self.count + 1.0)
        within = np.interp(values, distinct, empirical)
        excess = np.maximum(values - distinct[-1], 0.0) / self.tail_scale
        beyond = 1.0 / ((1.0 + excess) * (self.count + 1.0))
        return np.where(values > distinct[-1], beyond, within)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "count": self.count, "tail_scale": self.tail_scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TailCalibration:
        return cls(
            [float(v) for v in data["reference"]], int(data["count"]), float(data["tail_scale"])
        )


TIE_BREAK = 0.01
"""How much the other signals may move a score: they only order sequences whose smallest tail
probabilities (often counts, such as 3 failed logins) are equal or nearly so."""


def fuse_tail_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """(N, S) tail probabilities → (N,) score in [0, 1]: 1 − Bonferroni-corrected min p,
    that p shrunk by up to TIE_BREAK as the geometric mean of all S shrinks.

    One signal far in its tail is enough for a high score; no signal can pull another down.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] == 0:
        shape = probabilities.shape
        raise ValueError(f"need (sequences, signals) probabilities, got shape {shape}")
    corrected = np.minimum(probabilities.min(axis=1) * probabilities.shape[1], 1.0)
    geometric_mean = np.exp(np.log(probabilities).mean(axis=1))
    return 1.0 - corrected * (1.0 - TIE_BREAK + TIE_BREAK * geometric_mean)
