"""A real account history for a simulated user to continue from (legit or fraud suffix)."""

from __future__ import annotations

from evals.simulator.context import SimContext
from evals.simulator.persona import Persona
from evals.simulator.replay import Replayed, replay
from evals.simulator.timeline import Timeline


def real_prefix(
    ctx: SimContext, user_id: str, reserve: int, long: bool = True, start_ts: float | None = None
) -> tuple[Timeline, Persona, Replayed]:
    """Replay a real Taobao (`long`) or REES46 user as `user_id`, leaving `reserve` events of the
    cap for what follows; returns the timeline, the owner's persona and the replay's outcome."""
    source, sequence = ctx.long_history() if long else ctx.short_history()
    persona = ctx.persona(user_id, source)
    tl = Timeline(user_id, persona.home)
    start = ctx.start_ts(30) if start_ts is None else start_ts
    done = replay(
        tl, persona, ctx.rng, sequence, ctx.pool.catalog, start, ctx.replay_budget(reserve)
    )
    return tl, persona, done
