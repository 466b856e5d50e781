"""Per-user behaviour sequences: events grouped by user, time-ordered, duplicates merged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

from detectors.events import DEDUP_KEY, Event

_TIME = attrgetter("ts")


@dataclass(slots=True)
class Sequence:
    """One user's events in time order (ties keep file order)."""

    user_id: str
    events: list[Event]

    def __len__(self) -> int:
        return len(self.events)


def order_events(events: Iterable[Event]) -> list[Event]:
    """Sort by time (stable) and merge duplicates: same user, ts, action, item are one event
    (the first one kept)."""
    unique = list(events)
    keys = list(map(DEDUP_KEY, unique))
    if len(set(keys)) < len(keys):  # rare: the merge loop runs only when there is a duplicate
        first: dict[tuple[str, float, str, str | None], Event] = {}
        for key, event in zip(keys, unique, strict=True):
            first.setdefault(key, event)
        unique = list(first.values())
    unique.sort(key=_TIME)
    return unique


def group_sequences(events: Iterable[Event]) -> list[Sequence]:
    """Group events by user (users in first-seen order), each sequence ordered and deduplicated."""
    by_user: dict[str, list[Event]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
    return [
        Sequence(user_id, order_events(user_events)) for user_id, user_events in by_user.items()
    ]
