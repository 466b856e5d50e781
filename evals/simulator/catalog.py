"""Items to buy and view, taken from the real data sets, with a price for every item."""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass

from detectors.events import Event

RESELLABLE_WORDS = (
    "smartphone",
    "notebook",
    "video",
    "tablet",
    "console",
    "audio",
    "clocks",
    "camera",
    "jewelry",
)
"""Category words of goods that thieves and scalpers favour: small, valuable, easy to resell."""


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    category: str
    price: float


def invented_price(category: str, item_id: str) -> float:
    """A stable price for an item the data set sells without one (Taobao): ~5–900, by category."""
    category_level = 1.6 + (zlib.crc32(category.encode()) % 1000) / 1000 * 4.2
    item_factor = 0.6 + (zlib.crc32(item_id.encode()) % 1000) / 1000 * 0.9
    return round(math.exp(category_level) * item_factor, 2)


class Catalog:
    """All items seen in the real sequences; `price` is the real price where the data had one."""

    def __init__(self, items: list[Item]) -> None:
        if not items:
            raise ValueError("catalog has 0 items; need ≥ 1 real item")
        self.items = items
        self.by_id = {item.item_id: item for item in items}
        self.by_category: dict[str, list[Item]] = {}
        for item in items:
            self.by_category.setdefault(item.category, []).append(item)
        self.resellable = [
            item
            for item in items
            if any(word in item.category for word in RESELLABLE_WORDS) and item.price >= 80
        ] or items
        by_price = sorted(items, key=lambda item: item.price)
        self.cheap = by_price[: max(1, len(by_price) // 5)]
        self.pricey = by_price[-max(1, len(by_price) // 5) :]

    @classmethod
    def from_events(cls, events: list[Event]) -> Catalog:
        items: dict[str, Item] = {}
        for event in events:
            if event.item_id is None or event.item_id in items:
                continue
            category = event.category or "unknown"
            price = event.amount if event.amount else invented_price(category, event.item_id)
            items[event.item_id] = Item(event.item_id, category, round(price, 2))
        return cls(list(items.values()))

    def price_of(self, item_id: str | None, category: str | None) -> float:
        if item_id is not None and item_id in self.by_id:
            return self.by_id[item_id].price
        return invented_price(category or "unknown", item_id or "")

    def any(self, rng: random.Random) -> Item:
        return rng.choice(self.items)

    def in_category(self, rng: random.Random, category: str) -> Item:
        """An item of the same category when there is one (for related browsing)."""
        return rng.choice(self.by_category.get(category) or self.items)
