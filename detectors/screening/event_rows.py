"""Events as compact bytes, for shard files and Ray blocks (marshal: fast, JSON values only)."""

from __future__ import annotations

import marshal
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


def pack_rows(rows: list[tuple[Any, ...]]) -> bytes:
    """Events as their `event_tuple`s, packed."""
    return marshal.dumps(rows)


def unpack_rows(blob: bytes) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = marshal.loads(blob)
    return rows


def unpack_events(blob: bytes) -> list[Event]:
    return [Event(*values) for values in unpack_rows(blob)]


def shard_of(key: str, shards: int) -> int:
    """The same shard for the same key in every process (unlike `hash`, which is salted)."""
    return zlib.crc32(key.encode("utf-8")) % shards
