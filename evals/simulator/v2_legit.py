"""sim_v2's noisier hard negatives: honest users who look like bots, testers or abusers."""

from __future__ import annotations

from collections.abc import Callable

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import new_instrument, new_place, other_country
from evals.simulator.reviews import honest_rating, honest_text
from evals.simulator.shopping import pay_and_buy, view_items, write_review
from evals.simulator.timeline import DAY_S


def binge_browser(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A real user flicking through 40–100 items a few seconds apart, across categories, and
    buying nothing (looks like a scraper)."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=ctx.max_events // 2)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    items = [ctx.pool.catalog.any(rng) for _ in range(rng.randint(40, 100))]
    view_items(tl, rng, ts, items, mean_gap_s=rng.uniform(2, 8))
    return finish(ctx, tl, "hard negative (v2): binge browsing", ["hard_negative", "binge_browser"])


def coupon_hunter(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Tries a few coupon codes found online, most fail, then buys once."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=15)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    for code in rng.sample(("SAVE10", "BLACKFRIDAY", "FREESHIP", "SPRING5", "VIP20"), 3):
        ts += rng.uniform(20, 120)
        ok = rng.random() < 0.3
        tl.add(ts, "coupon_redeem", status="success" if ok else "failed", attrs={"coupon": code})
    item = ctx.pool.catalog.any(rng)
    pay_and_buy(tl, rng, ts + 120, [(item, 1)], persona.cards[0], persona.billing_country)
    return finish(ctx, tl, "hard negative (v2): coupon hunting", ["hard_negative", "coupon_hunter"])


def card_trouble(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Two declined payments (limit, 3-D Secure), a new card, then success."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=15)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    item = ctx.pool.catalog.any(rng)
    for _ in range(2):
        ts = pay_and_buy(tl, rng, ts + 60, [(item, 1)], persona.cards[0], status="declined").end_ts
    card = new_instrument(rng)
    tl.add(ts + rng.uniform(30, 300), "payment_method_add", payment_method=card)
    pay_and_buy(tl, rng, ts + 400, [(item, 1)], card, persona.billing_country)
    return finish(ctx, tl, "hard negative (v2): two declines", ["hard_negative", "card_trouble"])


def office_bulk(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Buys 6–12 of one cheap item for an office, straight from a search."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=10)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    item = rng.choice(ctx.pool.catalog.cheap)
    tl.add(ts + 20, "search", category=item.category)
    pay_and_buy(tl, rng, ts + 90, [(item, rng.randint(6, 12))], persona.cards[0])
    notes = "hard negative (v2): office bulk order"
    return finish(ctx, tl, notes, ["hard_negative", "office_bulk"])


def frequent_traveller(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Logs in from three countries in a week on new devices, then buys as usual."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=15)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    country = persona.home.country
    for _ in range(3):
        country = other_country(rng, country)
        tl.login(rng, ts, new_place(rng, country))
        ts = view_items(tl, rng, ts, [ctx.pool.catalog.any(rng)], mean_gap_s=30) + 2 * DAY_S
    item = ctx.pool.catalog.any(rng)
    pay_and_buy(tl, rng, ts, [(item, 1)], persona.cards[0], persona.billing_country)
    notes = "hard negative (v2): three countries in a week"
    return finish(ctx, tl, notes, ["hard_negative", "frequent_traveller"])


def honest_reviewer(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Buys a few things and reviews each of them within days."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=25)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    for _ in range(rng.randint(3, 5)):
        tl.login(rng, ts, persona.usual_place(rng))
        item = ctx.pool.catalog.any(rng)
        placed = pay_and_buy(tl, rng, ts + 200, [(item, 1)], persona.cards[0])
        rating = honest_rating(rng)
        later = placed.end_ts + rng.uniform(1, 6) * DAY_S
        write_review(tl, later, item.item_id, item.category, rating, honest_text(rng, rating))
        ts = later + rng.uniform(0.5, 3) * DAY_S
    return finish(ctx, tl, "hard negative (v2): reviews", ["hard_negative", "honest_reviewer"])


V2_HARD_NEGATIVES: dict[str, Callable[[SimContext, str], SimulatedUser]] = {
    "binge_browser": binge_browser,
    "coupon_hunter": coupon_hunter,
    "card_trouble": card_trouble,
    "office_bulk": office_bulk,
    "frequent_traveller": frequent_traveller,
    "honest_reviewer": honest_reviewer,
}
