"""Automated traffic: catalogue scraping bots and ad click fraud."""

from __future__ import annotations

from evals.simulator.context import SimContext, SimulatedUser, finish
from evals.simulator.history import real_prefix
from evals.simulator.persona import (
    AUTOMATION_AGENTS,
    DESKTOP_AGENTS,
    MOBILE_AGENTS,
    Where,
    nearby_ip,
    new_device_id,
    new_ip,
    pick_country,
    random_hex,
)
from evals.simulator.timeline import DAY_S, Timeline


def scraping_bot(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Fast, regular page views sweeping many items and categories; no cart, no purchase."""
    rng = ctx.rng
    country = pick_country(rng, "new")
    agent = rng.choice(AUTOMATION_AGENTS) if rng.random() < 0.5 else rng.choice(DESKTOP_AGENTS)
    where = Where(new_device_id(rng), new_ip(rng, country), country, agent)
    tl = Timeline(user_id, where)
    ts = ctx.start_ts(3)
    if rng.random() < 0.3:
        tl.login(rng, ts)
    else:
        tl.new_session(rng)
    catalog = ctx.pool.catalog
    pages = rng.randint(50, ctx.max_events - 4)
    gap = rng.uniform(0.4, 8)
    jitter = rng.uniform(0.02, 0.25)
    rotate_every = rng.randint(8, 30) if rng.random() < 0.3 else 0
    sweep = sorted((catalog.any(rng) for _ in range(pages)), key=lambda item: item.category)
    for page, item in enumerate(sweep if rng.random() < 0.5 else rng.sample(sweep, len(sweep))):
        if rotate_every and page and page % rotate_every == 0:
            tl.where = Where(where.device_id, nearby_ip(rng, where.ip), country, agent)
        if rng.random() < 0.06:
            tl.add(ts, "search", category=item.category)
            ts += gap * rng.uniform(1 - jitter, 1 + jitter)
        tl.add(ts, "view", item_id=item.item_id, category=item.category)
        ts += gap * rng.uniform(1 - jitter, 1 + jitter)
    categories = len({item.category for item in sweep})
    return finish(
        ctx,
        tl,
        f"scraping bot: {pages} views over {categories} categories every "
        f"~{gap:.1f}s" + (f", ip rotating every {rotate_every}" if rotate_every else ""),
    )


def click_fraud(ctx: SimContext, user_id: str) -> SimulatedUser:
    """Ad clicks at machine rate from one device and ip, no installs and no conversions; now and
    then on a device that had a short ordinary history (malware on a real phone)."""
    rng = ctx.rng
    ts = ctx.start_ts(3)
    if rng.random() < 0.25:
        tl, persona, done = real_prefix(ctx, user_id, reserve=90, long=False, start_ts=ts)
        ts = done.end_ts + rng.uniform(0.2, 5) * DAY_S
        tl.new_session(rng, persona.home)
    else:
        country = pick_country(rng, "new")
        agents = rng.choice((MOBILE_AGENTS, AUTOMATION_AGENTS))
        tl = Timeline(
            user_id, Where(new_device_id(rng), new_ip(rng, country), country, rng.choice(agents))
        )
        tl.new_session(rng)
    # The app/os/channel mixes of real never-installing heavy clickers (TalkingData).
    profiles = rng.sample(ctx.pool.click_farm_attrs, rng.randint(1, 4))
    clicks = rng.randint(30, ctx.max_events - 20)
    gap = rng.uniform(0.6, 10)
    landings = 0
    for _ in range(clicks):
        profile = rng.choice(profiles)
        app = profile["app"]
        attrs = {**profile, "ad_id": "ad-" + random_hex(rng, 5)}
        tl.add(ts, "ad_click", item_id=f"app-{app}", attrs=attrs)
        if rng.random() < 0.08:
            landings += 1
            tl.add(ts + rng.uniform(0.2, 1.5), "view", item_id=f"app-{app}")
        ts += rng.expovariate(1 / gap) * 0.5 + gap * 0.5
    return finish(
        ctx,
        tl,
        f"click fraud: {clicks} ad clicks every ~{gap:.1f}s on {len(profiles)} "
        f"app(s), {landings} landing views, no install",
    )
