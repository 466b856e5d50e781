"""Which shop sold each item (sim_v3): every order and review names its shop, not only brushing's.

sim_v1 and sim_v2 put `attrs.shop_id` only on the brushing rings' purchases and reviews
(`shop-<hex>`, `shop-ringNN`), so a model reading the rendered case could spot brushing by the
attribute alone. sim_v3 gives every purchase, review and refund request of an item its shop, in
one format: catalogue items belong to one of `CATALOG_SHOPS` shops by a hash of the item id
(stable, draws nothing from the random stream), and a ring's shop keeps its identity under a
name of the same form."""

from __future__ import annotations

import dataclasses
import zlib

from detectors.events import Event

CATALOG_SHOPS = 2000
"""Shops the catalogue's items are spread over (items of one shop share a name)."""
SHOP_ACTIONS = frozenset({"purchase", "review", "refund_request"})
"""Events about an order of an item: these name the item's shop."""


def shop_name(key: str) -> str:
    """`shop-` and six hex digits from `key`: every shop looks alike, whoever made it."""
    return f"shop-{zlib.crc32(key.encode()) & 0xFFFFFF:06x}"


def catalog_shop(item_id: str) -> str:
    """The shop that sells a catalogue item."""
    return shop_name(f"catalog-{zlib.crc32(item_id.encode()) % CATALOG_SHOPS}")


def with_shops(events: list[Event]) -> list[Event]:
    """`events` with `attrs.shop_id` on every order and review of an item: a shop a generator
    set (a brushing ring's) is renamed into the common form, any other is the item's own."""
    named = []
    for event in events:
        if event.action in SHOP_ACTIONS and event.item_id is not None:
            ring = event.attrs.get("shop_id")
            shop = shop_name(f"ring-{ring}") if ring else catalog_shop(event.item_id)
            event = dataclasses.replace(event, attrs={**event.attrs, "shop_id": shop})
        named.append(event)
    return named
