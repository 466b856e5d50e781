"""An event as its field values, and the shard of a key."""

from __future__ import annotations

import zlib
from dataclasses import fields
from operator import attrgetter
from typing import Any

from detectors.events import Event

EVENT_FIELDS: tuple[str, ...] = tuple(item.name for item in fields(Event))
_FIELD_VALUES = attrgetter(*EVENT_FIELDS)


def event_tuple(event: Event) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _FIELD_VALUES(event)
    return values


def shard_of(key: str, shards: int) -> int:
    """The same shard for the same key in every process (unlike `hash`, which is salted)."""
    return zlib.crc32(key.encode("utf-8")) % shards
