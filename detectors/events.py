"""The canonical behaviour event (FORMATS.md §1) and its validation from a JSON record."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

ACTIONS: tuple[str, ...] = (
    "account_signup",
    "login",
    "logout",
    "password_reset",
    "email_change",
    "phone_change",
    "address_change",
    "payment_method_add",
    "two_factor_change",
    "view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "favorite",
    "checkout",
    "payment_attempt",
    "purchase",
    "cancel_order",
    "refund_request",
    "return",
    "review",
    "coupon_redeem",
    "ad_click",
    "app_install",
    "message_seller",
)
_KNOWN_ACTIONS = frozenset(ACTIONS)
OTHER_PREFIX = "other:"

_STRING_FIELDS = (
    "session_id",
    "item_id",
    "category",
    "currency",
    "status",
    "device_id",
    "ip",
    "country",
    "user_agent",
    "payment_method",
    "text",
)
_STRING_TYPES = frozenset((str, type(None)))
QUANTITY_MAX = 2**63 - 1
"""A quantity must fit a 64-bit integer (the screen carries events in Arrow columns)."""
_RECORD_FIELDS = frozenset(
    ("user_id", "ts", "action", "amount", "quantity", "rating", "attrs", *_STRING_FIELDS)
)


class EventError(ValueError):
    """A record that is not a valid event; `field` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(slots=True)
class Event:
    """One behaviour event. `ts` is Unix seconds (UTC); `action` is canonical or `other:<name>`."""

    user_id: str
    ts: float
    action: str
    session_id: str | None = None
    item_id: str | None = None
    category: str | None = None
    amount: float | None = None
    currency: str | None = None
    quantity: int | None = None
    status: str | None = None
    device_id: str | None = None
    ip: str | None = None
    country: str | None = None
    user_agent: str | None = None
    payment_method: str | None = None
    rating: int | None = None
    text: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The FORMATS.md JSON record: ISO-8601 UTC `ts`, unset fields left out."""
        record: dict[str, Any] = {
            "user_id": self.user_id,
            "ts": format_ts(self.ts),
            "action": self.action,
        }
        for name in ("session_id", "item_id", "category", "amount", "currency", "quantity"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        for name in ("status", "device_id", "ip", "country", "user_agent", "payment_method"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        for name in ("rating", "text"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        if self.attrs:
            record["attrs"] = self.attrs
        return record


DEDUP_KEY = attrgetter("user_id", "ts", "action", "item_id")
"""An event's key: same user, ts, action and item are one event (FORMATS.md §1)."""


def format_ts(ts: float) -> str:
    """Unix seconds → ISO 8601 in UTC with a `Z` suffix (whole seconds when exact)."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    text = moment.isoformat(timespec="seconds" if ts == int(ts) else "milliseconds")
    return text.replace("+00:00", "Z")


def parse_ts(value: Any) -> float:
    """ISO 8601 (with offset or `Z`) or Unix seconds → Unix seconds in UTC."""
    if type(value) is str:  # the common case first: a well-formed time with its offset
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass  # the checks below decide, and word the error
        else:
            if moment.tzinfo is not None:
                return moment.timestamp()
    if isinstance(value, bool):
        raise EventError("ts", f"expected ISO 8601 string or Unix seconds, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise EventError("ts", f"not a finite number: {value!r}")
        try:
            datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            # Typically Unix milliseconds; accepted, it would break every later use of `ts`.
            message = f"{value!r} as Unix seconds is outside years 1 to 9999 (milliseconds?)"
            raise EventError("ts", message) from None
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise EventError("ts", f"not ISO 8601: {value!r}") from None
        if moment.tzinfo is None:
            raise EventError("ts", f"ISO 8601 time needs an offset or 'Z': {value!r}")
        return moment.timestamp()
    raise EventError("ts", f"expected ISO 8601 string or Unix seconds, got {type(value).__name__}")


def canonical_action(name: str) -> str:
    """A known action as is; anything else kept as `other:<name>` (never dropped)."""
    if name in _KNOWN_ACTIONS or name.startswith(OTHER_PREFIX):
        return name
    return OTHER_PREFIX + name


def _required_string(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if type(value) is str and (text := value.strip()):  # the common case first
        return text
    if value is None:
        raise EventError(name, "required field is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(name, f"expected a string, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise EventError(name, "required field is empty")
    return text


def _optional_number(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventError(name, f"expected a finite number, got {value!r}")
    return float(value)


def _optional_int(record: dict[str, Any], name: str, low: int, high: int | None) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(name, f"expected an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise EventError(name, f"{value} is out of range {bound}")
    return value


def parse_event(record: Any) -> Event:
    """Validate one decoded JSON record into an Event; raise EventError naming the field.

    Top-level keys this format does not define are kept in `attrs`, so nothing is lost."""
    return Event(*parse_event_values(record))


def parse_event_values(record: Any) -> tuple[Any, ...]:
    """`parse_event`'s Event as its field values, in field order, without making the Event
    (a screen only carries the values to its shard files).

    This runs for every line a screen reads, so the common case (every optional string a
    string, no extra key) is checked for all fields at once."""
    if not isinstance(record, dict):
        raise EventError("<line>", f"expected a JSON object, got {type(record).__name__}")
    user_id = _required_string(record, "user_id")
    if record.get("ts") is None:
        raise EventError("ts", "required field is missing")
    ts = parse_ts(record["ts"])
    action = canonical_action(_required_string(record, "action"))
    strings = [record.get(name) for name in _STRING_FIELDS]
    if not _STRING_TYPES.issuperset(map(type, strings)):
        strings = [
            value if value is None else _string_value(name, value)
            for name, value in zip(_STRING_FIELDS, strings, strict=True)
        ]
    session, item, category, currency, status, device, ip, country, agent, method, text = strings
    attrs = record.get("attrs") or {}
    if not isinstance(attrs, dict):
        raise EventError("attrs", f"expected an object, got {type(attrs).__name__}")
    if not _RECORD_FIELDS.issuperset(record):
        attrs = {**attrs, **{k: v for k, v in record.items() if k not in _RECORD_FIELDS}}
    amount = _optional_number(record, "amount")
    quantity = _optional_int(record, "quantity", 0, QUANTITY_MAX)
    rating = _optional_int(record, "rating", 1, 5)
    return (
        user_id, ts, action, session, item, category, amount, currency, quantity, status,
        device, ip, country, agent, method, rating, text, attrs,
    )  # fmt: skip


def _string_value(name: str, value: Any) -> str:
    """A string field given as a number is kept as its text; anything else is an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise EventError(name, f"expected a string, got {type(value).__name__}")
