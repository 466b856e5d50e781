"""Fraud against accounts and instruments: account takeover, card testing, payment fraud."""

from __future__ import annotations

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import (
    AUTOMATION_AGENTS,
    DESKTOP_AGENTS,
    MOBILE_AGENTS,
    Where,
    new_instrument,
    new_ip,
    new_place,
    other_country,
    pick_country,
)
from evals.simulator.shopping import pay_and_buy, view_items
from evals.simulator.timeline import DAY_S, Timeline

CREDENTIAL_CHANGES = ("email_change", "phone_change", "address_change", "two_factor_change")


def _attacker_place(ctx: SimContext, home_country: str) -> Where:
    """A device the owner never used: usually abroad, sometimes behind a same-country proxy."""
    rng = ctx.rng
    country = other_country(rng, home_country) if rng.random() < 0.7 else home_country
    agents = rng.choices((DESKTOP_AGENTS, MOBILE_AGENTS, AUTOMATION_AGENTS), weights=(50, 40, 10))[
        0
    ]
    return new_place(rng, country, agents)


def account_takeover(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A real long-standing account; then guessed logins from a new device, credential changes,
    and quick high-value resellable purchases."""
    rng = ctx.rng
    tl, persona, done = real_prefix(ctx, user_id, reserve=40)
    attacker = _attacker_place(ctx, persona.home.country)
    ts = done.end_ts + rng.uniform(0.5, 20) * DAY_S
    failures = rng.choices((0, rng.randint(1, 3), rng.randint(4, 15)), weights=(20, 40, 40))[0]
    tl.new_session(rng, attacker)
    for _ in range(failures):
        tl.add(ts, "login", status="failed", attrs={"reason": "bad_password"})
        ts += rng.expovariate(1 / rng.choice((3.0, 20.0, 90.0)))
    if rng.random() < 0.45:
        tl.add(ts, "password_reset")
        ts += rng.uniform(40, 400)
    tl.login(rng, ts, attacker)
    changes = rng.sample(CREDENTIAL_CHANGES, rng.randint(1, 4))
    if not {"email_change", "address_change", "two_factor_change"} & set(changes):
        changes.append("address_change")
    for change in changes:
        ts += rng.uniform(10, 240)
        tl.add(ts, change)
    instrument = persona.cards[0]
    if rng.random() < 0.4:
        instrument = new_instrument(rng)
        ts += rng.uniform(20, 200)
        tl.add(ts, "payment_method_add", payment_method=instrument)
    catalog = ctx.pool.catalog
    for _ in range(rng.choices((1, 2, 3, 4), weights=(40, 30, 20, 10))[0]):
        item = rng.choice(catalog.resellable)
        if rng.random() < 0.5:
            ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(5, 40))
        ts += rng.uniform(20, 180)
        count = rng.choices((1, 2, 3), weights=(60, 25, 15))[0]
        ts = pay_and_buy(
            tl,
            rng,
            ts,
            [(item, count)],
            instrument,
            persona.billing_country,
            checkout_s=rng.uniform(5, 40),
        ).end_ts
    return finish(
        ctx,
        tl,
        f"account takeover: {failures} failed logins, {', '.join(changes)}, "
        f"from {attacker.country} (owner in {persona.home.country})",
    )


def card_testing(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Many small payment attempts over many instruments, mostly declined, within minutes."""
    rng = ctx.rng
    country = pick_country(rng, "new")
    agents = AUTOMATION_AGENTS if rng.random() < 0.4 else DESKTOP_AGENTS
    place = new_place(rng, country, agents)
    ts = ctx.start_ts(5)
    if rng.random() < 0.4:
        tl, _, done = real_prefix(ctx, user_id, reserve=100, long=False, start_ts=ts)
        ts = done.end_ts + rng.uniform(0.2, 10) * DAY_S
        tl.login(rng, ts, place)
    else:
        tl = Timeline(user_id, place)
        tl.new_session(rng, place)
        tl.add(ts, "account_signup")
    item = rng.choice(ctx.pool.catalog.cheap)
    ts = view_items(tl, rng, ts, [item], mean_gap_s=rng.uniform(3, 30))
    tl.add(
        ts + rng.uniform(1, 10),
        "add_to_cart",
        item_id=item.item_id,
        category=item.category,
        amount=item.price,
    )
    ts += rng.uniform(10, 30)
    tl.add(ts, "checkout", amount=item.price)
    attempts = rng.randint(12, 70)
    cards = [new_instrument(rng) for _ in range(max(3, round(attempts * rng.uniform(0.3, 1.0))))]
    declined = round(attempts * rng.uniform(0.6, 0.95))
    statuses = ["declined"] * declined + ["approved"] * (attempts - declined)
    rng.shuffle(statuses)
    fixed_amount = round(rng.uniform(0.5, 3), 2) if rng.random() < 0.5 else None
    mean_gap = rng.uniform(2, 20)
    added: set[str] = set()
    for attempt, status in enumerate(statuses):
        # Every stolen number is tried once, then the ones that might work are retried.
        card = cards[attempt] if attempt < len(cards) else rng.choice(cards)
        if card not in added and rng.random() < 0.4:
            added.add(card)
            tl.add(ts, "payment_method_add", payment_method=card)
            ts += rng.uniform(0.5, 3)
        amount = fixed_amount if fixed_amount is not None else round(rng.uniform(0.5, 6), 2)
        tl.add(
            ts,
            "payment_attempt",
            amount=amount,
            payment_method=card,
            status=status,
            attrs={"billing_country": pick_country(rng, "new")},
        )
        ts += rng.expovariate(1 / mean_gap) + 0.5
    approved = attempts - declined
    if approved and rng.random() < 0.5:
        tl.add(
            ts,
            "purchase",
            item_id=item.item_id,
            category=item.category,
            amount=item.price,
            quantity=1,
        )
    return finish(
        ctx,
        tl,
        f"card testing: {attempts} small attempts over {len(cards)} instruments, "
        f"{approved} approved",
    )


def payment_fraud(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A stolen instrument: new account (or new card on a thin account), billing country far from
    the login, a rushed high-value checkout."""
    rng = ctx.rng
    country = pick_country(rng, "new")
    place = new_place(rng, country, rng.choice((DESKTOP_AGENTS, MOBILE_AGENTS)))
    ts = ctx.start_ts(5)
    new_account = rng.random() < 0.6
    if new_account:
        tl = Timeline(user_id, place)
        tl.new_session(rng, place)
        tl.add(ts, "account_signup")
        # Real stolen-card accounts: over half buy within the sign-up minute, the rest days later.
        delay = rng.choice(ctx.pool.stolen_card_delays)
        ts += rng.uniform(5, 59) if delay < 60 else min(delay, 25 * DAY_S)
        if delay >= 60:
            tl.login(rng, ts)
    else:
        tl, persona, done = real_prefix(ctx, user_id, reserve=100, long=False, start_ts=ts)
        ts = done.end_ts + rng.uniform(0.5, 30) * DAY_S
        if rng.random() < 0.5:
            place = Where(
                persona.home.device_id, new_ip(rng, country), country, persona.home.user_agent
            )
        tl.login(rng, ts, place)
    stolen = new_instrument(rng)
    card_country = other_country(rng, country) if rng.random() < 0.8 else country
    ts += rng.uniform(10, 120)
    tl.add(ts, "payment_method_add", payment_method=stolen)
    if rng.random() < 0.5:
        ts += rng.uniform(10, 90)
        tl.add(ts, "address_change")
    catalog = ctx.pool.catalog
    orders = rng.choices((1, 2, 3), weights=(65, 25, 10))[0]
    for _ in range(orders):
        item = rng.choice(catalog.resellable if rng.random() < 0.7 else catalog.pricey)
        ts = view_items(tl, rng, ts, [item] * rng.randint(0, 2), mean_gap_s=rng.uniform(5, 30))
        ts += rng.uniform(10, 90)
        count = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        if rng.random() < 0.3:
            other = new_instrument(rng)
            declined = pay_and_buy(
                tl,
                rng,
                ts,
                [(item, count)],
                other,
                card_country,
                status="declined",
                checkout_s=rng.uniform(5, 30),
            )
            ts = declined.end_ts + rng.uniform(20, 120)
        ts = pay_and_buy(
            tl, rng, ts, [(item, count)], stolen, card_country, checkout_s=rng.uniform(5, 30)
        ).end_ts
    kind = "new account" if new_account else "new instrument on a thin account"
    return finish(
        ctx,
        tl,
        f"payment fraud: {kind}, card from {card_country}, login from {country}, "
        f"{orders} rushed order(s)",
    )
