"""What every case generator receives (the one seeded random stream, the real pool) and returns."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from detectors.events import Event
from detectors.sequences import Sequence
from evals.simulator.persona import Persona, Where, new_persona
from evals.simulator.real_pool import RealPool
from evals.simulator.timeline import DAY_S, PERIOD_END, PERIOD_START, Timeline


@dataclass(slots=True)
class SimContext:
    """Shared by all generators of one case set; `rng` is the only source of randomness."""

    rng: random.Random
    pool: RealPool
    max_events: int = 120
    """Cap per user: the most recent events are kept."""
    shared_places: list[Where] = field(default_factory=list)
    """Devices/networks that several abusive accounts reuse (promo-abuse farms), filled lazily."""
    version: str = "v1"
    """Simulator version (evals/simulator/versions.py): which generators the cases come from."""

    def replay_budget(self, reserve: int = 0) -> int:
        """Real events to replay so that, with logins and payments added and `reserve` events
        left for what follows, the cap still fits."""
        return max(8, int((self.max_events - reserve) / 1.35))

    def long_history(self) -> tuple[str, Sequence]:
        return self.rng.choice(self.pool.long)

    def short_history(self) -> tuple[str, Sequence]:
        return self.rng.choice(self.pool.short)

    def persona(self, user_id: str, population: str) -> Persona:
        return new_persona(self.rng, user_id, population)

    def start_ts(self, room_days: float = 20.0) -> float:
        """A start time that leaves `room_days` before the end of the simulated period."""
        latest = PERIOD_END - room_days * DAY_S
        return self.rng.uniform(PERIOD_START, max(PERIOD_START, latest))


@dataclass(slots=True)
class SimulatedUser:
    """One generated user: events (time-ordered, capped), notes for humans, extra tags."""

    events: list[Event]
    notes: str
    tags: list[str] = field(default_factory=list)


def finish(
    ctx: SimContext, tl: Timeline, notes: str, tags: list[str] | None = None
) -> SimulatedUser:
    """The user's most recent `ctx.max_events` events in time order."""
    events = tl.ordered()
    return SimulatedUser(events[-ctx.max_events :], notes, list(tags or []))
