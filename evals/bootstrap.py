"""Seeded percentile bootstrap intervals over cases, single-run and paired."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from evals.statistics import ScoreTable

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
