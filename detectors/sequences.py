"""Per-user behaviour sequences: events grouped by user, time-ordered, duplicates merged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from detectors.events import Event


@dataclass(slots=True)
class Sequence:
    """One user's events in time order (ties keep file order)."""

    user_id: str
    events: list[Event]

    def __len__(self) -> int:
        return len(self.events)


def order_events(events: Iterable[Event]) -> list[Event]:
    """Sort by time (stable) and merge duplicates: same user, ts, action, item are one event."""
    seen: set[tuple[str, float, str, str | None]] = set()
    unique = []
    for event in events:
        key = event.dedup_key
        if key not in seen:
            seen.add(key)
            unique.append(event)
    unique.sort(key=lambda event: event.ts)
    return unique


def group_sequences(events: Iterable[Event]) -> list[Sequence]:
    """Group events by user (users in first-seen order), each sequence ordered and deduplicated."""
    by_user: dict[str, list[Event]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
    return [
        Sequence(user_id, order_events(user_events)) for user_id, user_events in by_user.items()
    ]
