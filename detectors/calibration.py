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

    @property
    def varies(self) -> bool:
        """Whether the reference holds more than one value (else it has no tail to speak of)."""
        return self.reference[0] != self.reference[-1]

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


TYPICAL_P = 0.5
"""Each tail probability is capped here before the combination: a typical value counts zero
instead of pulling the others down (uncapped, a p near 1 sends the Cauchy sum to −∞)."""


def fuse_tail_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """(N, S) tail probabilities → (N,) score in [0.5, 1): 1 − their Cauchy combination.

    The Cauchy combination (Liu & Xie 2020, ACAT) averages tan((½ − p)π) over the S signals
    and maps the mean back to a probability. One signal far in its tail dominates (the result
    is then ≈ S × that p, Bonferroni's bound), several moderately unusual signals add up, and
    its tail stays accurate whatever the dependence between the signals, so a threshold of
    1 − budget flags about the budget's share of legitimate sequences, at most.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] == 0:
        shape = probabilities.shape
        raise ValueError(f"need (sequences, signals) probabilities, got shape {shape}")
    capped = np.clip(probabilities, 1e-300, TYPICAL_P)
    # tan((½ − p)π) = 1 / tan(pπ), exact for tiny p; ½ − arctan(T)/π = arctan(1/T)/π for T > 0
    statistic = (1.0 / np.tan(np.pi * capped)).mean(axis=1)
    with np.errstate(divide="ignore"):
        combined = np.arctan(1.0 / statistic) / np.pi
    return 1.0 - combined
