"""Legitimate users replayed from real sequences, and honest-but-unusual hard negatives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import (
    MOBILE_AGENTS,
    Persona,
    moved,
    new_instrument,
    new_place,
    other_country,
)
from evals.simulator.replay import replay
from evals.simulator.shopping import pay_and_buy, quantity, request_refund, view_items
from evals.simulator.timeline import DAY_S, Timeline


def normal_user(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A real Taobao or REES46 user, re-timed, on their own devices; a few are brand new."""
    rng = ctx.rng
    source, sequence = ctx.long_history() if rng.random() < 0.55 else ctx.short_history()
    persona = ctx.persona(user_id, source)
    tl = Timeline(user_id, persona.home)
    start = ctx.start_ts()
    if rng.random() < 0.08:
        tl.new_session(rng)
        tl.add(start - rng.uniform(1.1, 4) * DAY_S, "account_signup")
    _chores(ctx, tl, persona, start)
    replay(tl, persona, rng, sequence, ctx.pool.catalog, start, ctx.replay_budget())
    return finish(ctx, tl, f"legitimate {source} user replayed")


def _chores(ctx: SimContext, tl: Timeline, persona: Persona, start: float) -> None:
    """Account housekeeping that honest users do now and then."""
    rng = ctx.rng
    ts = start - rng.uniform(0.1, 0.9) * DAY_S
    if rng.random() < 0.04:
        tl.login(rng, ts, persona.home)
        tl.add(ts + rng.uniform(20, 300), "address_change")
    if rng.random() < 0.03:
        tl.new_session(rng, persona.home)
        tl.add(ts + 600, "password_reset")
        tl.login(rng, ts + rng.uniform(660, 1200), persona.home)
    for change in ("email_change", "phone_change", "two_factor_change"):
        if rng.random() < 0.015:
            tl.login(rng, ts + 1800, persona.home)
            tl.add(ts + rng.uniform(1850, 2400), change)
    if rng.random() < 0.04:
        card = new_instrument(rng)
        persona.cards.append(card)
        tl.login(rng, ts + 3600, persona.home)
        tl.add(ts + rng.uniform(3660, 4000), "payment_method_add", payment_method=card)


def _continue(ctx: SimContext, tl: Timeline, persona: Persona, start: float, reserve: int) -> None:
    """More of the owner's ordinary shopping from `persona`'s (possibly new) places."""
    _, sequence = ctx.short_history() if ctx.rng.random() < 0.5 else ctx.long_history()
    replay(tl, persona, ctx.rng, sequence, ctx.pool.catalog, start, max(6, reserve // 2))


def travel(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Logs in from another country on the usual phone, then shops as always (home card)."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=40)
    abroad = other_country(rng, persona.home.country)
    travelling = replace(
        persona,
        home=moved(rng, persona.home, abroad),
        places=[moved(rng, place, abroad) for place in persona.places],
    )
    ts = done.end_ts + rng.uniform(2, 15) * DAY_S
    if rng.random() < 0.3:
        tl.login(rng, ts - rng.uniform(30, 120), travelling.home, status="failed")
    tl.login(rng, ts, travelling.home)
    _continue(ctx, tl, travelling, ts + rng.uniform(30, 600), reserve=40)
    return finish(
        ctx,
        tl,
        f"hard negative: travelling to {abroad}, same device, home card",
        ["hard_negative", "travel"],
    )


def new_phone(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Installs the app on a new phone, logs in there, and carries on as before."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=40)
    phone = new_place(rng, persona.home.country, MOBILE_AGENTS)
    ts = done.end_ts + rng.uniform(1, 20) * DAY_S
    tl.new_session(rng, phone)
    if rng.random() < 0.6:
        tl.add(ts - rng.uniform(60, 600), "app_install")
    tl.login(rng, ts, phone)
    renewed = replace(persona, home=phone, places=[phone, *persona.places[1:]])
    _continue(ctx, tl, renewed, ts + rng.uniform(10, 300), reserve=40)
    return finish(
        ctx, tl, "hard negative: new phone, then ordinary shopping", ["hard_negative", "new_phone"]
    )


def holiday_bulk(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Browses, then buys many gifts in large quantities in one or two orders."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=45)
    ts = done.end_ts + rng.uniform(1, 20) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    catalog = ctx.pool.catalog
    wanted = [catalog.any(rng) for _ in range(rng.randint(5, 14))]
    ts = view_items(
        tl,
        rng,
        ts,
        wanted + [catalog.any(rng) for _ in range(rng.randint(3, 10))],
        mean_gap_s=rng.uniform(15, 60),
    )
    for item in wanted:
        ts += rng.uniform(5, 40)
        tl.add(ts, "add_to_cart", item_id=item.item_id, category=item.category, amount=item.price)
    for order in (wanted[: len(wanted) // 2], wanted[len(wanted) // 2 :])[: rng.randint(1, 2)]:
        ts += rng.uniform(60, 900)
        lines = [(item, quantity(rng) + rng.randint(2, 6)) for item in order]
        ts = pay_and_buy(tl, rng, ts, lines, persona.cards[0], persona.billing_country).end_ts
    return finish(
        ctx,
        tl,
        "hard negative: holiday bulk buying after browsing",
        ["hard_negative", "holiday_bulk"],
    )


def one_return(ctx: SimContext, user_id: str) -> SimulatedUser:
    """One ordinary purchase refunded and returned, nothing else unusual."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=20)
    if done.purchases:
        purchase = rng.choice(done.purchases)
    else:
        ts = done.end_ts + rng.uniform(1, 5) * DAY_S
        tl.login(rng, ts, persona.usual_place(rng))
        item = ctx.pool.catalog.any(rng)
        ts = view_items(tl, rng, ts, [item], 30)
        purchase = pay_and_buy(
            tl, rng, ts + 60, [(item, 1)], persona.cards[0], persona.billing_country
        ).purchases[0]
    ts = max(done.end_ts, purchase.ts) + rng.uniform(1, 9) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    request_refund(tl, rng, ts + rng.uniform(30, 300), purchase)
    tl.add(
        ts + rng.uniform(1, 4) * DAY_S,
        "return",
        item_id=purchase.item_id,
        category=purchase.category,
        amount=purchase.amount,
        quantity=purchase.quantity,
    )
    return finish(ctx, tl, "hard negative: one refund and return", ["hard_negative", "one_return"])


def power_user(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Flicks through many items in seconds and buys several of them, all in one sitting."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=70)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    catalog = ctx.pool.catalog
    anchor = catalog.any(rng)
    seen = [catalog.in_category(rng, anchor.category) for _ in range(rng.randint(25, 50))]
    ts = view_items(tl, rng, ts, seen, mean_gap_s=rng.uniform(2.5, 6))
    for _ in range(rng.randint(2, 4)):
        item = rng.choice(seen)
        ts += rng.uniform(3, 20)
        tl.add(ts, "add_to_cart", item_id=item.item_id, category=item.category, amount=item.price)
        ts += rng.uniform(15, 60)
        ts = pay_and_buy(
            tl,
            rng,
            ts,
            [(item, 1)],
            persona.cards[0],
            persona.billing_country,
            checkout_s=rng.uniform(8, 25),
        ).end_ts
    return finish(
        ctx, tl, "hard negative: fast power user who buys", ["hard_negative", "power_user"]
    )


def declined_then_success(ctx: SimContext, user_id: str) -> SimulatedUser:
    """One declined payment (expired card, limit) and a successful retry a minute later."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=20)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    item = ctx.pool.catalog.any(rng)
    ts = view_items(
        tl, rng, ts, [ctx.pool.catalog.in_category(rng, item.category), item], mean_gap_s=40
    )
    lines = [(item, quantity(rng))]
    declined = pay_and_buy(
        tl, rng, ts + 60, lines, persona.cards[0], persona.billing_country, status="declined"
    )
    ts = declined.end_ts + rng.uniform(20, 90)
    retry = persona.cards[0]
    if rng.random() < 0.5:
        retry = new_instrument(rng)
        tl.add(ts, "payment_method_add", payment_method=retry)
    pay_and_buy(tl, rng, ts + rng.uniform(10, 60), lines, retry, persona.billing_country)
    return finish(
        ctx,
        tl,
        "hard negative: one declined payment, then success",
        ["hard_negative", "declined_then_success"],
    )


HARD_NEGATIVES: dict[str, Callable[[SimContext, str], SimulatedUser]] = {
    "travel": travel,
    "new_phone": new_phone,
    "holiday_bulk": holiday_bulk,
    "one_return": one_return,
    "power_user": power_user,
    "declined_then_success": declined_then_success,
}
