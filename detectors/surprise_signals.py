"""Sequence signals from per-event surprise: the worst events and the ending, not the mean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SURPRISE_SIGNALS = ("max_surprise", "top3_surprise", "top_g_misses", "end_surprise")
"""Each higher = less like the legitimate sequences the next-event model learned."""
TOP_K = 3
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


def surprise_signals(surprises: EventSurprises, top_g: int) -> np.ndarray:
    """(B, len(SURPRISE_SIGNALS)) signals, in SURPRISE_SIGNALS order; the end counts as an event."""
    rows = []
    for nll, rank, end_nll, end_rank in zip(
        surprises.nll, surprises.rank, surprises.end_nll, surprises.end_rank, strict=True
    ):
        every_nll = np.append(nll, end_nll)
        worst = np.sort(every_nll)[::-1][:TOP_K]
        missed = np.append(rank > top_g, end_rank > top_g).astype(np.float64)
        window = min(MISS_WINDOW, missed.size)
        misses = float(np.convolve(missed, np.ones(window), mode="valid").max())
        rows.append([float(worst[0]), float(worst.mean()), misses, float(end_nll)])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(SURPRISE_SIGNALS))
