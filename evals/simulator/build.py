"""Assembling a labelled case set: a plan, one generator per fraud type, cases out in order."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

from detectors.adapters import REAL_DATA_DIR
from detectors.cases import Case
from evals.simulator.acceptable import acceptable_actions
from evals.simulator.context import SimContext, SimulatedUser
from evals.simulator.fraud_account import account_takeover, card_testing, payment_fraud
from evals.simulator.fraud_bots import click_fraud, scraping_bot
from evals.simulator.fraud_orders import promo_abuse, refund_abuse, reseller_scalping
from evals.simulator.fraud_reviews import fake_review, order_brushing
from evals.simulator.legit import HARD_NEGATIVES, normal_user
from evals.simulator.persona import Where, random_hex
from evals.simulator.plan import PlannedCase, plan_cases, split_plan
from evals.simulator.real_pool import RealPool, load_real_pool

FRAUD_GENERATORS: dict[str, Callable[[SimContext, str], SimulatedUser]] = {
    "account_takeover": account_takeover,
    "card_testing": card_testing,
    "payment_fraud": payment_fraud,
    "order_brushing": order_brushing,
    "fake_review": fake_review,
    "promo_abuse": promo_abuse,
    "scraping_bot": scraping_bot,
    "reseller_scalping": reseller_scalping,
    "refund_abuse": refund_abuse,
    "click_fraud": click_fraud,
}
INJECTING_GENERATORS: dict[str, Callable[..., SimulatedUser]] = {
    "order_brushing": order_brushing,
    "fake_review": fake_review,
}


def simulate_user(ctx: SimContext, planned: PlannedCase, user_id: str) -> SimulatedUser:
    """The generator the plan names, run for one user."""
    if planned.fraud_type == "none":
        if planned.hard_negative is None:
            return normal_user(ctx, user_id)
        return HARD_NEGATIVES[planned.hard_negative](ctx, user_id)
    if planned.inject:
        return INJECTING_GENERATORS[planned.fraud_type](ctx, user_id, inject=True)
    return FRAUD_GENERATORS[planned.fraud_type](ctx, user_id)


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
        yield Case(
            case_id=f"sim-{first_index + offset:06d}",
            fraud_type=planned.fraud_type,
            acceptable_actions=acceptable_actions(
                planned.fraud_type, planned.hard_negative is not None
            ),
            events=user.events,
            notes=user.notes,
            extra={"tags": user.tags},
        )


def plan_case_sets(
    n: int,
    fraud_rate: float,
    seed: int,
    fractions: list[float] | None = None,
    data_dir: Path = REAL_DATA_DIR,
    max_events: int = 120,
) -> list[tuple[list[PlannedCase], SimContext]]:
    """The plan (or its stratified splits) with the context each part is generated in. Splits
    draw on disjoint real users; all parts share one random stream, so generate them in order."""
    rng = random.Random(seed)
    plan = plan_cases(n, fraud_rate, rng)
    pool = load_real_pool(data_dir)
    if fractions is None:
        return [(plan, SimContext(rng, pool, max_events))]
    parts = split_plan(plan, fractions)
    pools: list[RealPool] = pool.split(fractions, rng)
    shared: list[Where] = []
    return [
        (part, SimContext(rng, part_pool, max_events, shared_places=shared))
        for part, part_pool in zip(parts, pools, strict=True)
    ]
