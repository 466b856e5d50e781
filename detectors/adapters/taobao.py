"""Alibaba Taobao UserBehavior (no header): user_id,item_id,category_id,behavior_type,timestamp."""

from __future__ import annotations

from detectors.adapters.rows import Adapter, parse_number, parse_required, same_parser
from detectors.events import Event, canonical_action

_ACTIONS = {"pv": "view", "fav": "favorite", "cart": "add_to_cart", "buy": "purchase"}
"""Any other behaviour is kept as `other:<name>`."""


def taobao_events(row: list[str]) -> list[Event]:
    user_id, item_id, category_id, behavior, timestamp = row
    behavior = parse_required("behavior_type", behavior)
    return [
        Event(
            user_id=parse_required("user_id", user_id),
            ts=parse_number("timestamp", timestamp),
            action=canonical_action(_ACTIONS.get(behavior, behavior)),
            item_id=item_id or None,
            category=category_id or None,
        )
    ]


TAOBAO = Adapter(
    file="taobao_userbehavior/UserBehavior.csv",
    columns=("user_id", "item_id", "category_id", "behavior_type", "timestamp"),
    open_parser=same_parser(taobao_events),
    has_header=False,
)
