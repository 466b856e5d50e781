"""Fraud on orders and money back: promo abuse, reseller scalping, refund abuse."""

from __future__ import annotations

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import (
    MOBILE_AGENTS,
    Where,
    new_instrument,
    new_place,
    pick_country,
    random_hex,
)
from evals.simulator.shopping import pay_and_buy, quantity, request_refund, view_items
from evals.simulator.timeline import DAY_S, Timeline

COUPONS = ("WELCOME10", "NEWUSER20", "FIRSTORDER", "REFER-A-FRIEND", "APP15", "新人礼包")
FARM_SIZE = 12
"""Devices/networks a promo-abuse farm reuses across its many accounts."""


def _farm_place(ctx: SimContext) -> Where:
    """A device of the shared farm (several promo-abuse cases show the same device and ip)."""
    if len(ctx.shared_places) < FARM_SIZE:
        ctx.shared_places.append(new_place(ctx.rng, pick_country(ctx.rng, "new"), MOBILE_AGENTS))
    return ctx.rng.choice(ctx.shared_places)


def promo_abuse(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A farm account that signs up on a shared device and redeems new-user coupons at once, or a
    real account that suddenly sprays coupon codes."""
    rng = ctx.rng
    catalog = ctx.pool.catalog
    if rng.random() < 0.65:
        place = _farm_place(ctx)
        tl = Timeline(user_id, place)
        ts = ctx.start_ts(5)
        tl.new_session(rng)
        tl.add(ts, "account_signup", attrs={"referrer": "u" + random_hex(rng, 8)})
        codes = rng.sample(COUPONS, rng.randint(1, 3))
        kind = f"new account on shared device {place.device_id}"
    else:
        tl, persona, done = real_prefix(ctx, user_id, reserve=45)
        ts = done.end_ts + rng.uniform(1, 20) * DAY_S
        place = _farm_place(ctx) if rng.random() < 0.5 else persona.usual_place(rng)
        tl.login(rng, ts, place)
        codes = [
            *rng.sample(COUPONS, rng.randint(2, 5)),
            *(f"GIFT-{random_hex(rng, 6).upper()}" for _ in range(rng.randint(2, 10))),
        ]
        kind = "real account spraying coupon codes"
    redeemed = []
    for code in codes:
        ts += rng.expovariate(1 / 20) + 2
        ok = rng.random() < 0.55
        reason = {} if ok else {"reason": rng.choice(("already_used_on_device", "not_eligible"))}
        tl.add(
            ts,
            "coupon_redeem",
            status="success" if ok else "failed",
            attrs={"coupon": code, **reason},
        )
        if ok:
            redeemed.append(code)
    instrument = new_instrument(rng)
    for code in redeemed or codes[:1]:
        item = rng.choice(catalog.cheap)
        ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(5, 40))
        ts += rng.uniform(5, 60)
        tl.add(ts, "add_to_cart", item_id=item.item_id, category=item.category, amount=item.price)
        order = pay_and_buy(tl, rng, ts + rng.uniform(10, 90), [(item, 1)], instrument)
        for purchase in order.purchases:
            purchase.attrs["coupon"] = code
        ts = order.end_ts
    return finish(
        ctx, tl, f"promo abuse: {kind}, {len(codes)} coupon tries, {len(redeemed)} redeemed"
    )


def reseller_scalping(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Refreshing a limited item before its release, then maximum-quantity orders within seconds
    of it, several instruments and shipping addresses."""
    rng = ctx.rng
    if rng.random() < 0.6:
        tl, persona, done = real_prefix(ctx, user_id, reserve=45, long=rng.random() < 0.5)
        ts = done.end_ts + rng.uniform(1, 20) * DAY_S
        cards = list(persona.cards)
        tl.login(rng, ts - rng.uniform(300, 1200), persona.usual_place(rng))
    else:
        tl = Timeline(user_id, new_place(rng, pick_country(rng, "new")))
        ts = ctx.start_ts(5)
        tl.new_session(rng)
        tl.add(ts - rng.uniform(1, 10) * DAY_S, "account_signup")
        cards = [new_instrument(rng)]
        tl.login(rng, ts - rng.uniform(300, 1200))
    release = (ts // 3600 + 1) * 3600
    item = rng.choice(ctx.pool.catalog.resellable)
    limit = rng.choice((2, 3, 5, 10))
    t = release - rng.uniform(60, 600)
    while t < release:
        tl.add(t, "view", item_id=item.item_id, category=item.category)
        t += rng.uniform(3, 25)
    orders = rng.randint(2, 6)
    t = release + rng.uniform(0.3, 4)
    for order in range(orders):
        tl.add(
            t,
            "add_to_cart",
            item_id=item.item_id,
            category=item.category,
            amount=round(item.price * limit, 2),
            quantity=limit,
        )
        if order and rng.random() < 0.6:
            t += rng.uniform(2, 15)
            tl.add(t, "address_change")
        if order and rng.random() < 0.5:
            cards.append(new_instrument(rng))
            t += rng.uniform(2, 15)
            tl.add(t, "payment_method_add", payment_method=cards[-1])
        t += rng.uniform(2, 12)
        status = "declined" if order and rng.random() < 0.15 else "approved"
        placed = pay_and_buy(
            tl, rng, t, [(item, limit)], cards[-1], status=status, checkout_s=rng.uniform(1.5, 6)
        )
        for purchase in placed.purchases:
            purchase.attrs.update({"release": "limited", "max_per_order": limit})
        t = placed.end_ts + rng.uniform(3, 40)
    return finish(
        ctx,
        tl,
        f"reseller scalping: {orders} orders of {limit}× {item.category} within minutes of release",
    )


CLAIMS = (
    "Item never arrived.",
    "Box was empty when I opened it.",
    "Received a different item, want a full refund.",
    "Product is fake, refund please.",
    "没收到货，要求退款。",
    "Arrived broken, refund without return please.",
)


def refund_abuse(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Repeated purchase → refund cycles with claims of non-delivery or damage; refunds sometimes
    exceed what was paid, and often come without a return."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=50, long=rng.random() < 0.75)
    ts = done.end_ts + rng.uniform(1, 10) * DAY_S
    catalog = ctx.pool.catalog
    cycles = rng.randint(3, 8)
    inflate = rng.random() < 0.4
    refunded = 0.0
    paid = 0.0
    old = list(done.purchases)
    for _ in range(cycles):
        tl.login(rng, ts, persona.usual_place(rng))
        if old and rng.random() < 0.3:
            purchase = old.pop()
        else:
            item = rng.choice(catalog.pricey if rng.random() < 0.5 else catalog.items)
            ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(10, 90))
            purchase = pay_and_buy(
                tl,
                rng,
                ts + rng.uniform(30, 300),
                [(item, quantity(rng))],
                persona.cards[0],
                persona.billing_country,
            ).purchases[0]
        paid += purchase.amount or 0.0
        claim_ts = purchase.ts + rng.uniform(1, 6) * DAY_S
        tl.login(rng, claim_ts, persona.usual_place(rng))
        amount = round((purchase.amount or 0.0) * (rng.uniform(1.1, 1.8) if inflate else 1.0), 2)
        request_refund(
            tl, rng, claim_ts + rng.uniform(20, 200), purchase, amount, rng.choice(CLAIMS)
        )
        refunded += amount
        if rng.random() < 0.4:
            tl.add(
                claim_ts + rng.uniform(1, 5) * DAY_S,
                "return",
                item_id=purchase.item_id,
                category=purchase.category,
                quantity=purchase.quantity,
            )
        if rng.random() < 0.3:
            tl.add(
                claim_ts + rng.uniform(300, 3000),
                "message_seller",
                text=rng.choice(CLAIMS) + " I will report you if not refunded.",
            )
        ts = claim_ts + rng.uniform(0.5, 6) * DAY_S
    return finish(
        ctx, tl, f"refund abuse: {cycles} refund claims for {refunded:.2f} against {paid:.2f} paid"
    )
