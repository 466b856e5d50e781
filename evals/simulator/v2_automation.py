"""sim_v2 variants of automated fraud: slow and rotating-ip bots, low-and-slow card testing."""

from __future__ import annotations

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import (
    AUTOMATION_AGENTS,
    DESKTOP_AGENTS,
    MOBILE_AGENTS,
    Where,
    new_device_id,
    new_instrument,
    new_ip,
    new_place,
    pick_country,
    random_hex,
)
from evals.simulator.timeline import DAY_S, Timeline


def _rotating_place(ctx: SimContext, device_id: str, agent: str) -> Where:
    """A fresh proxy exit: new ip, often another country, same client."""
    country = pick_country(ctx.rng, "new")
    return Where(device_id, new_ip(ctx.rng, country), country, agent)


def slow_or_rotating_scraper(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A scraper paced like a reader (15–120 s a page) or hopping proxies every few pages; no
    cart, no purchase, sometimes on an account with a real history."""
    rng = ctx.rng
    slow = rng.random() < 0.5
    agent = rng.choice(DESKTOP_AGENTS if rng.random() < 0.7 else AUTOMATION_AGENTS)
    device = new_device_id(rng)
    ts = ctx.start_ts(6)
    if rng.random() < 0.3:
        tl, _, done = real_prefix(ctx, user_id, reserve=ctx.max_events // 2, long=False)
        ts = done.end_ts + rng.uniform(1, 10) * DAY_S
        tl.login(rng, ts, _rotating_place(ctx, device, agent))
    else:
        tl = Timeline(user_id, _rotating_place(ctx, device, agent))
        tl.new_session(rng)
    catalog = ctx.pool.catalog
    pages = rng.randint(40, max(41, ctx.max_events - 10))
    gap = rng.uniform(15, 120) if slow else rng.uniform(1, 12)
    hop_every = rng.randint(1, 4)
    for page in range(pages):
        if not slow and page % hop_every == 0:
            tl.new_session(rng, _rotating_place(ctx, device, agent))
        item = catalog.any(rng)
        tl.add(ts, "view", item_id=item.item_id, category=item.category)
        ts += gap * rng.uniform(0.7, 1.3)
    kind = f"slow, ~{gap:.0f}s a page" if slow else f"new proxy every {hop_every} page(s)"
    return finish(ctx, tl, f"scraping bot (v2): {pages} views, {kind}")


def slow_click_fraud(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Ad clicks trickled over hours from rotating ips of one device, never an install."""
    rng = ctx.rng
    agent = rng.choice(MOBILE_AGENTS)
    device = new_device_id(rng)
    tl = Timeline(user_id, _rotating_place(ctx, device, agent))
    tl.new_session(rng)
    ts = ctx.start_ts(6)
    profiles = rng.sample(ctx.pool.click_farm_attrs, rng.randint(1, 3))
    clicks = rng.randint(15, max(16, ctx.max_events // 2))
    gap = rng.uniform(30, 400)
    for click in range(clicks):
        if click % rng.randint(2, 6) == 0:
            tl.new_session(rng, _rotating_place(ctx, device, agent))
        profile = rng.choice(profiles)
        attrs = {**profile, "ad_id": "ad-" + random_hex(rng, 5)}
        tl.add(ts, "ad_click", item_id=f"app-{profile['app']}", attrs=attrs)
        ts += rng.expovariate(1 / gap) + 5
    return finish(ctx, tl, f"click fraud (v2): {clicks} clicks every ~{gap:.0f}s, rotating ips")


def low_and_slow_card_testing(ctx: SimContext, user_id: str) -> SimulatedUser:
    """A handful of small attempts an hour or more apart over days, few instruments, most
    declined; often on an account with a real history."""
    rng = ctx.rng
    ts = ctx.start_ts(8)
    if rng.random() < 0.6:
        tl, persona, done = real_prefix(ctx, user_id, reserve=40, long=rng.random() < 0.5)
        ts = done.end_ts + rng.uniform(0.5, 5) * DAY_S
        place = persona.usual_place(rng) if rng.random() < 0.5 else None
    else:
        place = new_place(rng, pick_country(rng, "new"), DESKTOP_AGENTS)
        tl = Timeline(user_id, place)
        tl.new_session(rng)
        tl.add(ts, "account_signup")
    attempts = rng.randint(5, 18)
    cards = [new_instrument(rng) for _ in range(rng.randint(2, 6))]
    declined = 0
    for attempt in range(attempts):
        ts += rng.uniform(0.5, 12) * 3600
        tl.login(rng, ts, place or new_place(rng, pick_country(rng, "new"), DESKTOP_AGENTS))
        card = cards[attempt % len(cards)]
        if attempt < len(cards) and rng.random() < 0.6:
            tl.add(ts + rng.uniform(10, 60), "payment_method_add", payment_method=card)
        status = "declined" if rng.random() < 0.7 else "approved"
        declined += status == "declined"
        tl.add(
            ts + rng.uniform(60, 300),
            "payment_attempt",
            amount=round(rng.uniform(0.5, 9), 2),
            payment_method=card,
            status=status,
        )
    return finish(
        ctx,
        tl,
        f"card testing (v2, low and slow): {attempts} attempts over {len(cards)} instruments, "
        f"{declined} declined",
    )
