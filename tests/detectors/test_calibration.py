"""Tail probabilities on legitimate traffic and their min-p fusion."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.calibration import TailCalibration, fuse_tail_probabilities


def test_tail_probability_is_the_empirical_tail_then_keeps_falling() -> None:
    calibration = TailCalibration.fit(np.arange(1.0, 100.0))  # 1 … 99
    p = calibration.tail_probability(np.asarray([0.0, 1.0, 50.0, 99.0, 120.0, 1e6]))
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(1.0)
    assert p[2] == pytest.approx((1 + 50) / 100)  # 50 of the 99 values are ≥ 50
    assert p[3] == pytest.approx(2 / 100)
    assert p[3] > p[4] > p[5] > 0.0 and p[5] < 1e-6
    assert np.all(np.diff(calibration.tail_probability(np.linspace(-5, 500, 400))) <= 0)


def test_constant_reference_still_flags_a_larger_value() -> None:
    calibration = TailCalibration.fit(np.zeros(50))
    assert not calibration.varies and TailCalibration.fit(np.arange(3.0)).varies
    low, high = calibration.tail_probability(np.asarray([0.0, 3.0]))
    assert low == pytest.approx(1.0) and high < 1 / 51


def test_calibration_round_trips_and_compresses_large_references() -> None:
    values = np.random.default_rng(0).normal(size=5000)
    calibration = TailCalibration.fit(values, max_points=64)
    assert len(calibration.reference) == 64 and calibration.count == 5000
    again = TailCalibration.from_dict(calibration.to_dict())
    probe = np.linspace(-4, 6, 50)
    assert np.array_equal(again.tail_probability(probe), calibration.tail_probability(probe))
    with pytest.raises(ValueError, match="0 legitimate"):
        TailCalibration.fit(np.zeros(0))


def test_one_strong_signal_is_enough_and_none_pulls_another_down() -> None:
    probabilities = np.asarray(
        [
            [0.5, 0.5, 0.5],
            [0.5, 0.5, 1e-4],  # one signal far in its tail
            [0.05, 0.05, 0.05],  # all mildly unusual
            [1.0, 1.0, 1e-4],  # typical signals count zero, they do not veto
            [0.5, 0.01, 0.01],
            [0.5, 0.5, 0.01],
        ]
    )
    scores = fuse_tail_probabilities(probabilities)
    assert scores[1] > scores[2] > scores[0] == pytest.approx(0.5)
    assert scores[1] == scores[3]
    assert 1 - scores[1] == pytest.approx(3 * 1e-4, rel=1e-3)  # Bonferroni for one signal
    assert scores[2] == pytest.approx(0.95)  # S equal p's combine to that p
    assert scores[4] > scores[5]  # two unusual signals say more than one
    assert np.all((scores >= 0.5) & (scores < 1))
    far = fuse_tail_probabilities(np.asarray([[1e-9, 0.5], [1e-8, 0.5]]))
    assert far[0] > far[1]  # extreme sequences still rank among themselves
    with pytest.raises(ValueError, match="shape"):
        fuse_tail_probabilities(np.zeros((3, 0)))
