"""Building one simulated user's events: the current device/session stamped on every event."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from detectors.events import Event
from evals.simulator.persona import Where, random_hex

PERIOD_START = datetime(2026, 8, 3, tzinfo=UTC).timestamp()
PERIOD_END = datetime(2026, 11, 16, tzinfo=UTC).timestamp()
"""Simulated behaviour is re-timed into this recent window (fixed, so output never depends on
the day it is generated)."""
DAY_S = 86400.0


class Timeline:
    """Events of one user in the making. `where` and `session_id` apply to each added event."""

    def __init__(self, user_id: str, where: Where) -> None:
        self.user_id = user_id
        self.where = where
        self.session_id: str | None = None
        self.events: list[Event] = []
        self._keys: set[tuple[float, str, str | None]] = set()

    def add(self, ts: float, action: str, **fields: Any) -> Event:
        """Append an event at `ts` (rounded to whole seconds) from the current place and session.

        Two events with the same second, action and item would be merged as one on loading
        (FORMATS.md §1), so a repeat moves on by a second."""
        second = float(round(ts))
        while (second, action, fields.get("item_id")) in self._keys:
            second += 1
        self._keys.add((second, action, fields.get("item_id")))
        event = Event(
            user_id=self.user_id,
            ts=second,
            action=action,
            session_id=self.session_id,
            device_id=self.where.device_id,
            ip=self.where.ip,
            country=self.where.country,
            user_agent=self.where.user_agent,
            **fields,
        )
        self.events.append(event)
        return event

    def new_session(self, rng: random.Random, where: Where | None = None) -> None:
        """Start a client session, optionally from another place."""
        if where is not None:
            self.where = where
        self.session_id = "s-" + random_hex(rng, 12)

    def login(
        self, rng: random.Random, ts: float, where: Where | None = None, status: str = "success"
    ) -> float:
        """A new session opened by a login; returns the login's time."""
        self.new_session(rng, where)
        self.add(ts, "login", status=status)
        return ts

    def ordered(self) -> list[Event]:
        """Events in time order (stable)."""
        return sorted(self.events, key=lambda event: event.ts)
