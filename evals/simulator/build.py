"""Assembling a labelled case set: a plan, one generator per fraud type, cases out in order."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

from detectors.adapters import REAL_DATA_DIR
from detectors.cases import Case
from evals.simulator.acceptable import acceptable_actions
from evals.simulator.context import SimContext, SimulatedUser
from evals.simulator.legit import normal_user
from evals.simulator.persona import Where, random_hex
from evals.simulator.plan import PlannedCase, plan_cases, split_plan
from evals.simulator.real_pool import RealPool, load_real_pool
from evals.simulator.shops import with_shops
from evals.simulator.versions import SIM_VERSIONS, SimVersion


def simulate_user(ctx: SimContext, planned: PlannedCase, user_id: str) -> SimulatedUser:
    """A generator of the context's simulator version for the planned case, run for one user."""
    version = SIM_VERSIONS[ctx.version]
    if planned.fraud_type == "none":
        if planned.hard_negative is None:
            return normal_user(ctx, user_id)
        return version.hard_negatives[planned.hard_negative](ctx, user_id)
    if planned.inject:
        return _draw(ctx, version.injecting[planned.fraud_type])(ctx, user_id, inject=True)
    return _draw(ctx, version.fraud[planned.fraud_type])(ctx, user_id)


def _draw(
    ctx: SimContext, generators: tuple[Callable[..., SimulatedUser], ...]
) -> Callable[..., SimulatedUser]:
    """One of the generators; a single one draws nothing from the stream (so sim_v1 is as was)."""
    return generators[0] if len(generators) == 1 else ctx.rng.choice(generators)


def simulate_cases(
    plan: list[PlannedCase], ctx: SimContext, first_index: int = 0, taken: set[str] | None = None
) -> Iterator[Case]:
    """One case per planned entry, ids `sim-%06d` from `first_index`; user ids are random and
    never repeat within `taken` (pass one set across the splits of a set)."""
    taken = set() if taken is None else taken
    for offset, planned in enumerate(plan):
        user_id = "u" + random_hex(ctx.rng, 10)
        while user_id in taken:
            user_id = "u" + random_hex(ctx.rng, 10)
        taken.add(user_id)
        user = simulate_user(ctx, planned, user_id)
        events = (
            with_shops(user.events)
            if SIM_VERSIONS[ctx.version].shop_on_every_order
            else user.events
        )
        yield Case(
            case_id=f"sim-{first_index + offset:06d}",
            fraud_type=planned.fraud_type,
            acceptable_actions=acceptable_actions(
                planned.fraud_type, planned.hard_negative is not None
            ),
            events=events,
            notes=user.notes,
            extra={"tags": user.tags},
        )


def plan_case_sets(
    n: int,
    fraud_rate: float,
    seed: int,
    fractions: list[float] | None = None,
    data_dir: Path = REAL_DATA_DIR,
    max_events: int | None = None,
    version: str = "v1",
) -> list[tuple[list[PlannedCase], SimContext]]:
    """The plan (or its stratified splits) with the context each part is generated in. Splits
    draw on disjoint real users; all parts share one random stream, so generate them in order.
    `max_events` defaults to the version's."""
    sim: SimVersion = SIM_VERSIONS[version]
    cap = sim.max_events if max_events is None else max_events
    rng = random.Random(seed)
    kinds = tuple(sim.hard_negatives)
    plan = plan_cases(n, fraud_rate, rng, sim.hard_negative_share, sim.injection_share, kinds)
    pool = load_real_pool(data_dir)
    if fractions is None:
        return [(plan, SimContext(rng, pool, cap, version=version))]
    parts = split_plan(plan, fractions)
    pools: list[RealPool] = pool.split(fractions, rng)
    shared: list[Where] = []
    return [
        (part, SimContext(rng, part_pool, cap, shared_places=shared, version=version))
        for part, part_pool in zip(parts, pools, strict=True)
    ]
