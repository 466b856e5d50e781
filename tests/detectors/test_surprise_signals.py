"""Worst-event, top-g and ending signals from per-event surprise."""

from __future__ import annotations

import numpy as np

from detectors.surprise_signals import (
    MISS_WINDOW,
    SURPRISE_SIGNALS,
    EventSurprises,
    surprise_signals,
    top_g_for,
)


def test_signals_take_the_worst_events_and_the_ending() -> None:
    surprises = EventSurprises(
        nll=[np.asarray([0.1, 9.0, 0.2, 0.3]), np.asarray([1.0])],
        rank=[np.asarray([1, 40, 2, 1]), np.asarray([1])],
        end_nll=np.asarray([0.5, 7.0]),
        end_rank=np.asarray([1, 30]),
    )
    signals = dict(zip(SURPRISE_SIGNALS, surprise_signals(surprises, top_g=5).T, strict=True))
    assert signals["max_surprise"].tolist() == [9.0, 7.0]
    assert np.allclose(signals["top3_surprise"], [(9.0 + 0.5 + 0.3) / 3, (7.0 + 1.0) / 2])
    assert signals["top_g_misses"].tolist() == [1.0, 1.0]  # the 2-event one misses at its end
    assert signals["end_surprise"].tolist() == [0.5, 7.0]


def test_misses_count_within_the_worst_window_not_the_whole_history() -> None:
    ranks = np.ones(200, dtype=np.int64)
    ranks[::20] = 50  # one miss every 20 events: never two within a window of 16
    burst = np.ones(30, dtype=np.int64)
    burst[10:14] = 50
    surprises = EventSurprises(
        nll=[np.zeros(200), np.zeros(30)],
        rank=[ranks, burst],
        end_nll=np.zeros(2),
        end_rank=np.ones(2, dtype=np.int64),
    )
    misses = surprise_signals(surprises, top_g=5)[:, SURPRISE_SIGNALS.index("top_g_misses")]
    assert MISS_WINDOW < 20 and misses.tolist() == [1.0, 4.0]


def test_top_g_leaves_the_chosen_share_of_legitimate_events_beyond_it() -> None:
    ranks = np.arange(1, 101)
    surprises = EventSurprises([np.zeros(100)], [ranks], np.zeros(1), np.asarray([1]))
    g = top_g_for(surprises, quantile=0.9)
    events = np.append(ranks, 1)
    assert 0.08 <= (events > g).mean() <= 0.1
