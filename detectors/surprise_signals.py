"""Sequence signals from per-event surprise: the worst events and the ending, not the mean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.calibration import TailCalibration

END_SIGNAL = "end_surprise"
"""The surprise of the sequence ending where it does (the end-of-sequence token)."""
SURPRISE_SIGNALS = ("worst_event", "max_surprise", "top_g_misses", END_SIGNAL)
"""Each higher = less like the legitimate sequences the next-event model learned. worst_event is
the most surprising event held to its history's length; max_surprise is the same event
unadjusted (DeepLog's per-event view: in HDFS one unseen log key in a long session is the
anomaly, and the length correction alone let 3.6 % of those through)."""
MISS_WINDOW = 16
"""Top-g misses are counted within the worst run of this many events (the end included), so
that a long honest history does not add up misses a short one never could."""


@dataclass
class EventSurprises:
    """Per-event and end-of-sequence surprise of a list of sequences, in input order."""

    nll: list[np.ndarray]
    rank: list[np.ndarray]
    end_nll: np.ndarray
    """(B,) surprise that the sequence ends where it does."""
    end_rank: np.ndarray


def top_g_for(surprises: EventSurprises, quantile: float) -> int:
    """DeepLog's g: events (and endings) ranked beyond it count as misses; chosen so that a
    share 1 − `quantile` of the legitimate events in `surprises` miss."""
    ranks = np.concatenate([*surprises.rank, surprises.end_rank])
    return max(1, int(np.ceil(np.quantile(ranks, quantile)))) if ranks.size else 1


def fit_event_tail(surprises: EventSurprises) -> TailCalibration:
    """P(a legitimate event, or ending, is at least this surprising), from legitimate ones."""
    return TailCalibration.fit(np.concatenate([*surprises.nll, surprises.end_nll]), 2048)


def surprise_signals(
    surprises: EventSurprises, top_g: int, event_tail: TailCalibration
) -> np.ndarray:
    """(B, len(SURPRISE_SIGNALS)) signals, in SURPRISE_SIGNALS order; the end counts as an event.

    worst_event is −log P(some event of a legitimate sequence this long is as surprising as
    its worst one), with events taken as independent (Šidák): the most surprising of 200
    events is held to a higher bar than the most surprising of 20, so a long honest history
    is not suspect for its length alone."""
    count = len(surprises.nll)
    worst = np.zeros(count)
    events = np.zeros(count)
    misses = np.zeros(count)
    for row, (nll, rank, end_rank) in enumerate(
        zip(surprises.nll, surprises.rank, surprises.end_rank, strict=True)
    ):
        worst[row] = nll.max() if nll.size else -np.inf
        events[row] = nll.size + 1
        missed = np.append(rank > top_g, end_rank > top_g).astype(np.float64)
        window = min(MISS_WINDOW, missed.size)
        misses[row] = np.convolve(missed, np.ones(window), mode="valid").max()
    worst = np.maximum(worst, surprises.end_nll)
    p_event = np.minimum(event_tail.tail_probability(worst), 1.0 - 1e-12)
    p_sequence = -np.expm1(events * np.log1p(-p_event))
    worst_event = -np.log(np.maximum(p_sequence, 1e-300))
    columns = [worst_event, worst, misses, surprises.end_nll.astype(np.float64)]
    return np.stack(columns, axis=1).reshape(count, len(SURPRISE_SIGNALS))
