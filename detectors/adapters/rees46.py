"""REES46 multi-category store behaviour (`2019-Oct.csv`): one view, cart or purchase a row."""

from __future__ import annotations

from detectors.adapters.rows import (
    Adapter,
    parse_number,
    parse_required,
    parse_utc_time,
    same_parser,
)
from detectors.events import Event, canonical_action

_ACTIONS = {"cart": "add_to_cart"}
"""`view`, `purchase` and `remove_from_cart` are already canonical."""


def rees46_events(row: list[str]) -> list[Event]:
    event_time, event_type, product, category_id, category_code, brand, price, user, session = row
    ts = parse_utc_time("event_time", event_time)
    event_type = parse_required("event_type", event_type)
    amount = parse_number("price", price) if price else None
    attrs = {"category_id": category_id}
    if brand:
        attrs["brand"] = brand
    return [
        Event(
            user_id=parse_required("user_id", user),
            ts=ts,
            action=canonical_action(_ACTIONS.get(event_type, event_type)),
            session_id=session or None,
            item_id=product or None,
            category=category_code or category_id or None,
            amount=amount,
            attrs=attrs,
        )
    ]


REES46 = Adapter(
    file="rees46/2019-Oct.csv",
    columns=(
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        "user_session",
    ),
    open_parser=same_parser(rees46_events),
)
