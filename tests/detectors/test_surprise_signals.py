"""Worst-event, top-g and ending signals from per-event surprise."""

from __future__ import annotations

import numpy as np

from detectors.calibration import TailCalibration
from detectors.surprise_signals import (
    MISS_WINDOW,
    SURPRISE_SIGNALS,
    EventSurprises,
    fit_event_tail,
    surprise_signals,
    top_g_for,
)

EVENT_TAIL = TailCalibration.fit(np.linspace(0.0, 10.0, 1001))
"""Legitimate event surprise uniform on 0 … 10."""


def test_signals_take_the_worst_events_and_the_ending() -> None:
    surprises = EventSurprises(
        nll=[np.asarray([0.1, 9.0, 0.2, 0.3]), np.asarray([1.0])],
        rank=[np.asarray([1, 40, 2, 1]), np.asarray([1])],
        end_nll=np.asarray([0.5, 7.0]),
        end_rank=np.asarray([1, 30]),
    )
    values = surprise_signals(surprises, top_g=5, event_tail=EVENT_TAIL)
    signals = dict(zip(SURPRISE_SIGNALS, values.T, strict=True))
    p_event = EVENT_TAIL.tail_probability(np.asarray([9.0, 7.0]))  # the worst event or ending
    p_sequence = 1 - (1 - p_event) ** np.asarray([5, 2])  # 4 events + the end, 1 + the end
    assert np.allclose(signals["worst_event"], -np.log(p_sequence))
    assert signals["max_surprise"].tolist() == [9.0, 7.0]
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
    values = surprise_signals(surprises, top_g=5, event_tail=EVENT_TAIL)
    misses = values[:, SURPRISE_SIGNALS.index("top_g_misses")]
    assert MISS_WINDOW < 20 and misses.tolist() == [1.0, 4.0]


def test_top_g_leaves_the_chosen_share_of_legitimate_events_beyond_it() -> None:
    ranks = np.arange(1, 101)
    surprises = EventSurprises([np.zeros(100)], [ranks], np.zeros(1), np.asarray([1]))
    g = top_g_for(surprises, quantile=0.9)
    events = np.append(ranks, 1)
    assert 0.08 <= (events > g).mean() <= 0.1


def test_the_worst_of_a_long_history_is_held_to_a_higher_bar() -> None:
    short = np.full(10, 1.0)
    long = np.full(200, 1.0)
    short[3] = long[3] = 9.95
    surprises = EventSurprises(
        nll=[short, long],
        rank=[np.ones(10, dtype=np.int64), np.ones(200, dtype=np.int64)],
        end_nll=np.asarray([0.5, 0.5]),
        end_rank=np.ones(2, dtype=np.int64),
    )
    worst = surprise_signals(surprises, top_g=5, event_tail=EVENT_TAIL)[:, 0]
    assert worst[0] > worst[1] + 2.0  # same worst event, 20× the chances to see one


def test_the_event_tail_covers_events_and_endings() -> None:
    surprises = EventSurprises(
        [np.asarray([1.0, 2.0]), np.asarray([3.0])], [], np.asarray([4.0, 5.0]), np.zeros(2)
    )
    tail = fit_event_tail(surprises)
    assert tail.count == 5 and tail.reference == [1.0, 2.0, 3.0, 4.0, 5.0]
