"""Behaviour snippets every simulated user shares: browsing, paying, reviewing, refunding."""

from __future__ import annotations

import random
from dataclasses import dataclass

from detectors.events import Event
from evals.simulator.catalog import Item
from evals.simulator.timeline import Timeline


def quantity(rng: random.Random) -> int:
    """How many of an item an ordinary shopper takes."""
    return rng.choices((1, 2, 3, 4), weights=(84, 11, 4, 1))[0]


def view_items(
    tl: Timeline, rng: random.Random, ts: float, items: list[Item], mean_gap_s: float
) -> float:
    """Views with exponential gaps; returns the time of the last one."""
    for item in items:
        ts += max(1.0, rng.expovariate(1 / mean_gap_s))
        tl.add(ts, "view", item_id=item.item_id, category=item.category)
    return ts


@dataclass(slots=True)
class Order:
    end_ts: float
    """When the last event of the order happened."""
    purchases: list[Event]
    """One purchase per line; none when the payment was declined."""


def pay_and_buy(
    tl: Timeline,
    rng: random.Random,
    ts: float,
    lines: list[tuple[Item, int]],
    instrument: str,
    billing_country: str | None = None,
    status: str = "approved",
    checkout_s: float | None = None,
) -> Order:
    """Checkout at `ts`, one payment attempt for the total, then a purchase per line when
    approved, `checkout_s` after the checkout."""
    total = round(sum(item.price * count for item, count in lines), 2)
    lead = checkout_s if checkout_s is not None else rng.uniform(20, 120)
    tl.add(ts, "checkout", amount=total)
    tl.add(
        ts + lead * rng.uniform(0.5, 0.9),
        "payment_attempt",
        amount=total,
        payment_method=instrument,
        status=status,
        attrs={"billing_country": billing_country or tl.where.country},
    )
    if status != "approved":
        return Order(ts + lead * 0.9, [])
    purchases = [
        tl.add(
            ts + lead,
            "purchase",
            item_id=item.item_id,
            category=item.category,
            amount=round(item.price * count, 2),
            quantity=count,
        )
        for item, count in lines
    ]
    return Order(ts + lead, purchases)


def write_review(
    tl: Timeline,
    ts: float,
    item_id: str | None,
    category: str | None,
    rating: int,
    text: str | None,
) -> Event:
    fields: dict[str, str] = {}
    if text is not None:
        fields["text"] = text
    return tl.add(ts, "review", item_id=item_id, category=category, rating=rating, **fields)


REFUND_REASONS: tuple[str, ...] = (
    "Wrong size, would like to return.",
    "Item arrived damaged.",
    "Changed my mind, unopened.",
    "颜色和图片不一样，申请退货。",
    "Does not fit my model, returning.",
)


def request_refund(
    tl: Timeline,
    rng: random.Random,
    ts: float,
    purchase: Event,
    amount: float | None = None,
    text: str | None = None,
) -> Event:
    return tl.add(
        ts,
        "refund_request",
        item_id=purchase.item_id,
        category=purchase.category,
        amount=purchase.amount if amount is None else amount,
        text=text if text is not None else rng.choice(REFUND_REASONS),
    )
