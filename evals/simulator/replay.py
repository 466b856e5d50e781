"""Re-living a real user's sequence as a simulated account: re-timed, with logins and payments."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from detectors.events import Event
from detectors.sequences import Sequence
from evals.simulator.catalog import Catalog, Item
from evals.simulator.persona import Persona, moved
from evals.simulator.reviews import honest_rating, honest_text
from evals.simulator.shopping import pay_and_buy, quantity, request_refund, write_review
from evals.simulator.timeline import DAY_S, Timeline

SESSION_GAP_S = 30 * 60
CART_WINDOW_S = 120
"""Real purchases this close together were one order: one checkout and one payment."""
REVIEW_RATE = 0.15
"""Share of purchases an honest user reviews, days later."""
REFUND_RATE = 0.03
AD_CLICK_RATE = 0.015
"""Share of views that came from an ad click."""
MISTYPED_LOGIN_RATE = 0.04
DECLINE_RATE = 0.02
"""Share of honest orders whose first payment is declined (funds, limits) and retried."""
COUPON_RATE = 0.06
"""Share of honest orders that use a seasonal coupon."""
QUESTION_RATE = 0.03
SEASONAL_COUPONS = ("SUMMER10", "DOUBLE11", "FREESHIP", "VIP5", "618SALE")
QUESTIONS = (
    "When will this ship?",
    "Is the size true to the chart?",
    "Can you send it in plain packaging? It is a gift.",
    "请问什么时候发货？",
)


@dataclass(slots=True)
class Replayed:
    """What a replay produced, for typologies that build on the history."""

    end_ts: float
    purchases: list[Event] = field(default_factory=list)


def replay(
    tl: Timeline,
    persona: Persona,
    rng: random.Random,
    sequence: Sequence,
    catalog: Catalog,
    start_ts: float,
    max_real_events: int,
) -> Replayed:
    """Append a window of `sequence` to `tl`, re-timed to start at `start_ts` and stretched or
    squeezed by a per-user factor; sessions open with (mostly) a login from the user's devices."""
    real = sequence.events
    if len(real) > max_real_events:
        first = rng.randint(0, len(real) - max_real_events)
        real = real[first : first + max_real_events]
    scale = min(1.8, max(0.6, rng.lognormvariate(0, 0.3)))
    origin = real[0].ts
    result = Replayed(end_ts=start_ts)
    cart: list[tuple[float, Item]] = []
    previous: Event | None = None
    for event in real:
        ts = start_ts + (event.ts - origin) * scale
        if previous is None or _new_session(previous, event):
            _flush(tl, rng, persona, cart, result)
            _open_session(tl, rng, persona, ts, first=previous is None, category=event.category)
        previous = event
        item = _item(catalog, event)
        if event.action == "purchase":
            if cart and ts - cart[0][0] > CART_WINDOW_S:
                _flush(tl, rng, persona, cart, result)
            cart.append((ts, item))
            continue
        if event.action == "view" and rng.random() < AD_CLICK_RATE:
            tl.add(
                ts - rng.uniform(1, 4),
                "ad_click",
                item_id=item.item_id,
                attrs={"channel": f"ch-{rng.randint(100, 499)}"},
            )
        amount = item.price if event.action == "add_to_cart" else None
        tl.add(ts, event.action, item_id=item.item_id, category=item.category, amount=amount)
        result.end_ts = max(result.end_ts, ts)
    _flush(tl, rng, persona, cart, result)
    return result


def _new_session(previous: Event, event: Event) -> bool:
    if event.ts - previous.ts > SESSION_GAP_S:
        return True
    return bool(
        previous.session_id and event.session_id and previous.session_id != event.session_id
    )


def _item(catalog: Catalog, event: Event) -> Item:
    item_id = event.item_id or "unknown"
    return catalog.by_id.get(item_id) or Item(
        item_id, event.category or "unknown", catalog.price_of(item_id, event.category)
    )


def _open_session(
    tl: Timeline, rng: random.Random, persona: Persona, ts: float, first: bool, category: str | None
) -> None:
    where = persona.usual_place(rng)
    if rng.random() < 0.12:
        where = moved(rng, where)
    if rng.random() < (0.85 if first else 0.45):
        login_ts = ts - rng.uniform(3, 90)
        if rng.random() < MISTYPED_LOGIN_RATE:
            tl.login(rng, login_ts - rng.uniform(5, 40), where, status="failed")
        tl.login(rng, login_ts, where)
    else:
        tl.new_session(rng, where)
    if rng.random() < 0.2:
        tl.add(ts - rng.uniform(1, 3), "search", category=category)


def _flush(
    tl: Timeline,
    rng: random.Random,
    persona: Persona,
    cart: list[tuple[float, Item]],
    result: Replayed,
) -> None:
    """One order for the purchases gathered in `cart`, then maybe a review or a refund later."""
    if not cart:
        return
    ts = cart[0][0]
    lines = [(item, quantity(rng)) for _, item in cart]
    instrument = persona.cards[0] if rng.random() < 0.8 else rng.choice(persona.cards)
    lead = rng.uniform(10, 60)
    if rng.random() < COUPON_RATE:
        tl.add(
            ts - lead - rng.uniform(5, 30),
            "coupon_redeem",
            status="success",
            attrs={"coupon": rng.choice(SEASONAL_COUPONS)},
        )
    if rng.random() < DECLINE_RATE:
        pay_and_buy(
            tl,
            rng,
            ts - 2 * lead,
            lines,
            instrument,
            persona.billing_country,
            status="declined",
            checkout_s=lead,
        )
    purchases = pay_and_buy(
        tl, rng, ts - lead, lines, instrument, persona.billing_country, checkout_s=lead
    ).purchases
    cart.clear()
    result.purchases.extend(purchases)
    result.end_ts = max(result.end_ts, ts)
    session = tl.session_id
    tl.new_session(rng)  # a review or refund days later comes in a session of its own
    for purchase in purchases:
        if rng.random() < REVIEW_RATE:
            rating = honest_rating(rng)
            later = purchase.ts + rng.uniform(1, 12) * DAY_S
            write_review(
                tl, later, purchase.item_id, purchase.category, rating, honest_text(rng, rating)
            )
        elif rng.random() < REFUND_RATE:
            request_refund(tl, rng, purchase.ts + rng.uniform(1, 10) * DAY_S, purchase)
        if rng.random() < QUESTION_RATE:
            tl.add(
                purchase.ts + rng.uniform(600, DAY_S),
                "message_seller",
                item_id=purchase.item_id,
                text=rng.choice(QUESTIONS),
            )
    tl.session_id = session
