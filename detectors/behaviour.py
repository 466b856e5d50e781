"""Machine-speed and volume signals a per-event token misses, one value per sequence each."""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import numpy as np

from detectors.sequences import Sequence

BEHAVIOUR_SIGNALS = (
    "peak_events_per_minute",
    "gap_regularity",
    "longest_action_run",
    "distinct_items_per_minute",
    "distinct_instruments",
    "failed_outcomes",
)
"""Each higher = more machine-like or more volume than a person's shopping."""
MIN_GAPS_FOR_REGULARITY = 5
"""Fewer gaps than this say nothing about a rhythm: regularity 0."""
ITEM_RATE_FLOOR_MINUTES = 10.0
"""Distinct items are divided by at least this many minutes, so a short visit is not a burst."""
FAILED_STATUSES = frozenset({"declined", "failed"})


def behaviour_signals(sequences: SequenceOf[Sequence]) -> np.ndarray:
    """(B, len(BEHAVIOUR_SIGNALS)) signals, in BEHAVIOUR_SIGNALS order."""
    return np.asarray([_signals_of(sequence) for sequence in sequences], dtype=np.float64).reshape(
        len(sequences), len(BEHAVIOUR_SIGNALS)
    )


def _signals_of(sequence: Sequence) -> list[float]:
    events = sequence.events
    ts = np.asarray([event.ts for event in events], dtype=np.float64)
    in_next_minute = np.searchsorted(ts, ts + 60.0, side="left") - np.arange(ts.size)
    gaps = np.diff(ts)
    regularity = 0.0
    if gaps.size >= MIN_GAPS_FOR_REGULARITY and gaps.mean() > 0:
        regularity = 1.0 / (1.0 + float(gaps.std() / gaps.mean()))
    minutes = max(float(ts[-1] - ts[0]) / 60.0 if ts.size else 0.0, ITEM_RATE_FLOOR_MINUTES)
    items = {event.item_id for event in events if event.item_id is not None}
    return [
        float(in_next_minute.max()) if ts.size else 0.0,
        regularity,
        float(_longest_run([event.action for event in events])),
        len(items) / minutes,
        float(len({e.payment_method for e in events if e.payment_method is not None})),
        float(sum(event.status in FAILED_STATUSES for event in events)),
    ]


def _longest_run(actions: list[str]) -> int:
    longest = run = 0
    previous = None
    for action in actions:
        run = run + 1 if action == previous else 1
        longest = max(longest, run)
        previous = action
    return longest
