"""sim_v2 variants on accounts and orders: partial patterns, long real histories, wide rings."""

from __future__ import annotations

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.injection import INJECTION_TEXTS, MORE_LANGUAGES, injected_review_text
from evals.simulator.persona import (
    DESKTOP_AGENTS,
    MOBILE_AGENTS,
    new_instrument,
    new_place,
    other_country,
    pick_country,
    random_hex,
)
from evals.simulator.reviews import stock_text
from evals.simulator.shopping import pay_and_buy, quantity, request_refund, view_items
from evals.simulator.timeline import DAY_S, Timeline

RING_SHOPS = 40
"""Shops a v2 brushing ring spreads its orders over: each account places only one or two."""
V2_INJECTIONS = INJECTION_TEXTS + MORE_LANGUAGES


def quiet_takeover(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Inside a long real history: one clean login from a new device, one or two credential
    changes, and then a purchase, or nothing more (a partial pattern)."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=15)
    ts = done.end_ts + rng.uniform(0.5, 30) * DAY_S
    country = persona.home.country
    if rng.random() < 0.5:
        country = other_country(rng, country)
    tl.login(rng, ts, new_place(rng, country, rng.choice((DESKTOP_AGENTS, MOBILE_AGENTS))))
    changes = rng.sample(("email_change", "address_change", "phone_change"), rng.randint(1, 2))
    for change in changes:
        ts += rng.uniform(60, 3 * 3600)
        tl.add(ts, change)
    bought = rng.random() < 0.6
    if bought:
        item = rng.choice(ctx.pool.catalog.resellable)
        ts += rng.uniform(600, DAY_S)
        pay_and_buy(tl, rng, ts, [(item, 1)], persona.cards[0], persona.billing_country)
    return finish(
        ctx,
        tl,
        f"account takeover (v2, quiet): new device in {country}, {', '.join(changes)}"
        + (", one resellable purchase" if bought else ", nothing bought yet"),
    )


def card_on_real_account(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A stolen card added to a real account's history, one or two high-value orders billed
    abroad, unhurried."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=15, long=rng.random() < 0.5)
    ts = done.end_ts + rng.uniform(1, 20) * DAY_S
    tl.login(rng, ts, persona.usual_place(rng))
    card = new_instrument(rng)
    tl.add(ts + rng.uniform(30, 600), "payment_method_add", payment_method=card)
    billing = other_country(rng, persona.billing_country or persona.home.country)
    orders = rng.randint(1, 2)
    for _ in range(orders):
        item = rng.choice(ctx.pool.catalog.pricey)
        ts = view_items(tl, rng, ts + 700, [item], mean_gap_s=rng.uniform(20, 120))
        ts = pay_and_buy(tl, rng, ts + rng.uniform(60, 600), [(item, 1)], card, billing).end_ts
    return finish(ctx, tl, f"payment fraud (v2): new card billed in {billing}, {orders} order(s)")


def ring_brushing(ctx: SimContext, user_id: str, inject: bool = False) -> SimulatedUser:
    """One of a wide ring's many accounts: a single order (sometimes two) of a ring shop's item
    after a glance, then usually a 5-star review, in one of several languages."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=12, long=False)
    ts = done.end_ts + rng.uniform(1, 15) * DAY_S
    shop = f"shop-ring{rng.randrange(RING_SHOPS):02d}"
    item = rng.choice(ctx.pool.catalog.cheap)
    orders = rng.choice((1, 1, 2))
    reviewed = 0
    for _ in range(orders):
        tl.login(rng, ts, persona.usual_place(rng))
        ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(5, 30))
        placed = pay_and_buy(tl, rng, ts + rng.uniform(20, 120), [(item, 1)], persona.cards[0])
        for purchase in placed.purchases:
            purchase.attrs["shop_id"] = shop
        if rng.random() < 0.8 or inject:
            text = _review_text(ctx, 5, inject and reviewed == 0)
            review_ts = placed.end_ts + rng.uniform(0.5, 3) * DAY_S
            tl.add(review_ts, "review", item_id=item.item_id, category=item.category, rating=5,
                   text=text, attrs={"shop_id": shop})  # fmt: skip
            reviewed += 1
        ts = placed.end_ts + rng.uniform(1, 5) * DAY_S
    tags = ["prompt_injection"] if inject else []
    notes = f"order brushing (v2, ring of {RING_SHOPS} shops): {orders} order(s)"
    return finish(ctx, tl, notes, tags)


def slow_fake_reviews(ctx: SimContext, user_id: str, inject: bool = False) -> SimulatedUser:
    """A few unpurchased reviews days apart after a long real history, copied text in several
    languages."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=20)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    rating = 1 if rng.random() < 0.4 else 5
    count = rng.randint(3, 8)
    injected_at = rng.randrange(count)
    for index in range(count):
        tl.login(rng, ts, persona.usual_place(rng))
        item = ctx.pool.catalog.any(rng)
        text = _review_text(ctx, rating, inject and index == injected_at)
        tl.add(ts + rng.uniform(20, 300), "review", item_id=item.item_id, category=item.category,
               rating=rating, text=text)  # fmt: skip
        ts += rng.uniform(0.5, 4) * DAY_S
    tags = ["prompt_injection"] if inject else []
    return finish(ctx, tl, f"fake review (v2, slow): {count} unpurchased {rating}-star", tags)


def single_coupon_farm_account(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A farm account that signs up, redeems one new-user coupon and buys once (the ring only
    shows across accounts: shared device and ip)."""
    rng = ctx.rng
    if len(ctx.shared_places) < RING_SHOPS:
        ctx.shared_places.append(new_place(rng, pick_country(rng, "new"), MOBILE_AGENTS))
    place = rng.choice(ctx.shared_places)
    tl = Timeline(user_id, place)
    ts = ctx.start_ts(5)
    tl.new_session(rng)
    tl.add(ts, "account_signup", attrs={"referrer": "u" + random_hex(rng, 8)})
    code = rng.choice(("WELCOME5", "HELLO2026", "BIENVENUE", "NEU10", "新客立减"))
    ts += rng.uniform(60, 3600)
    tl.add(ts, "coupon_redeem", status="success", attrs={"coupon": code})
    item = rng.choice(ctx.pool.catalog.cheap)
    ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(10, 60))
    order = pay_and_buy(tl, rng, ts + rng.uniform(30, 300), [(item, 1)], new_instrument(rng))
    for purchase in order.purchases:
        purchase.attrs["coupon"] = code
    return finish(ctx, tl, f"promo abuse (v2): one {code} redemption on shared {place.device_id}")


def patient_scalper(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A real account buying limited items at the per-order maximum, a few orders hours apart."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=25, long=rng.random() < 0.5)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    limit = rng.choice((3, 4, 5, 6))
    orders = rng.randint(2, 4)
    for _ in range(orders):
        item = rng.choice(ctx.pool.catalog.resellable)
        tl.login(rng, ts, persona.usual_place(rng))
        ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(5, 60))
        placed = pay_and_buy(tl, rng, ts + rng.uniform(10, 60), [(item, limit)], persona.cards[0])
        for purchase in placed.purchases:
            purchase.attrs.update({"release": "limited", "max_per_order": limit})
        ts = placed.end_ts + rng.uniform(1, 12) * 3600
    return finish(ctx, tl, f"reseller scalping (v2, patient): {orders} orders of {limit}")


def two_refund_claims(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A long real history ending in two purchase → refund-without-return cycles (partial)."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=20)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    for _ in range(2):
        tl.login(rng, ts, persona.usual_place(rng))
        item = rng.choice(ctx.pool.catalog.pricey)
        ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(10, 90))
        placed = pay_and_buy(tl, rng, ts + 120, [(item, quantity(rng))], persona.cards[0])
        claim = placed.end_ts + rng.uniform(1, 5) * DAY_S
        tl.login(rng, claim, persona.usual_place(rng))
        for purchase in placed.purchases:
            request_refund(tl, rng, claim + rng.uniform(30, 300), purchase)
        ts = claim + rng.uniform(2, 8) * DAY_S
    return finish(ctx, tl, "refund abuse (v2, partial): two refund claims without a return")


def _review_text(ctx: SimContext, rating: int, inject: bool) -> str:
    cover = stock_text(ctx.rng, rating)
    return injected_review_text(ctx.rng, cover, V2_INJECTIONS) if inject else cover
