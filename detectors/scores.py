"""What a detector says about one sequence: its score, its flag and per-event surprise."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class EventSurprise:
    """How unexpected one event was given the events before it."""

    index: int
    """Position in the (time-ordered, deduplicated) sequence."""
    token: str
    """The event's token, e.g. `payment_attempt|gap<10s|amt<5|declined`."""
    nll: float
    """Negative log-likelihood of this event's token under the model (higher = more surprising)."""
    rank: int
    """Rank of the true token among the model's predictions (1 = most expected)."""


@dataclass(slots=True)
class SequenceScore:
    """A detector's output for one user's sequence."""

    user_id: str
    score: float
    """Higher = more anomalous."""
    flagged: bool
    """score ≥ the detector's fitted threshold_."""
    events: list[EventSurprise]
    """One entry per event, in sequence order."""
    fraud_type_probs: dict[str, float] | None = None
    """Supervised head's distribution over FRAUD_TYPES, when the detector has one."""
    embedding: list[float] | None = None
    """A fixed-size summary of the sequence, for finding similar cases."""
    end_surprise: float | None = None
    """Negative log-likelihood that the sequence ends after its last event."""
    signal_tail_probabilities: dict[str, float] | None = None
    """Per score signal, the share of legitimate sequences at least as extreme; the smallest
    one drives the score."""

    def top_events(self, k: int = 5) -> list[EventSurprise]:
        """The k most surprising events, most surprising first."""
        return sorted(self.events, key=lambda event: event.nll, reverse=True)[:k]
