"""parse_event: the FORMATS.md §1 event record, its validation and its round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from detectors.events import ACTIONS, EventError, format_ts, parse_event

BASE = {"user_id": "u1", "ts": "2026-03-02T14:01:55Z", "action": "login"}
BASE_TS = datetime(2026, 3, 2, 14, 1, 55, tzinfo=UTC).timestamp()


def record(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


@pytest.mark.parametrize("missing", ["user_id", "ts", "action"])
def test_a_required_field_missing_is_named(missing: str) -> None:
    raw = record()
    del raw[missing]
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == missing
    assert "missing" in str(caught.value)


def test_an_empty_user_id_is_rejected() -> None:
    with pytest.raises(EventError) as caught:
        parse_event(record(user_id="  "))
    assert caught.value.field == "user_id"


@pytest.mark.parametrize(
    "ts",
    [
        "2026-03-02T14:01:55Z",
        "2026-03-02T14:01:55z",
        "2026-03-02T14:01:55+00:00",
        "2026-03-02T16:01:55+02:00",
        "2026-03-02T09:01:55-05:00",
        BASE_TS,
        int(BASE_TS),
    ],
)
def test_ts_with_offset_z_or_unix_seconds_is_the_same_moment(ts: Any) -> None:
    assert parse_event(record(ts=ts)).ts == BASE_TS


def test_naive_iso_time_is_rejected() -> None:
    with pytest.raises(EventError) as caught:
        parse_event(record(ts="2026-03-02T14:01:55"))
    assert caught.value.field == "ts"
    assert "offset" in str(caught.value)


@pytest.mark.parametrize("ts", ["yesterday", True, float("nan"), [1], BASE_TS * 1000])
def test_a_ts_that_is_no_time_is_rejected(ts: Any) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(record(ts=ts))
    assert caught.value.field == "ts"


def test_every_known_action_is_kept_as_is() -> None:
    assert [parse_event(record(action=action)).action for action in ACTIONS] == list(ACTIONS)


def test_an_unknown_action_is_kept_as_other() -> None:
    assert parse_event(record(action="wishlist_share")).action == "other:wishlist_share"
    assert parse_event(record(action="other:wishlist_share")).action == "other:wishlist_share"


def test_extra_top_level_keys_are_kept_in_attrs() -> None:
    event = parse_event(record(shop_id="s-7", attrs={"campaign": "x"}))
    assert event.attrs == {"campaign": "x", "shop_id": "s-7"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("amount", "12.5"),
        ("amount", float("inf")),
        ("quantity", 1.5),
        ("quantity", -1),
        ("quantity", 2**63),
        ("rating", 6),
        ("rating", "5"),
        ("device_id", ["d"]),
        ("attrs", [1, 2]),
        ("user_id", 3.5),
    ],
)
def test_a_bad_type_or_range_is_named_by_field(name: str, value: Any) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(record(**{name: value}))
    assert caught.value.field == name
    assert str(caught.value).startswith(f"{name}: ")


def test_numbers_given_for_string_fields_become_strings() -> None:
    event = parse_event(record(user_id=42, item_id=1001, quantity=2.0))
    assert (event.user_id, event.item_id, event.quantity) == ("42", "1001", 2)


def test_a_record_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(EventError):
        parse_event(["u1", "login"])


def test_to_record_round_trips() -> None:
    full = record(
        ts="2026-03-02T14:01:55.250Z",
        action="purchase",
        session_id="s1",
        item_id="i9",
        category="phones/android",
        amount=499.0,
        currency="EUR",
        quantity=2,
        status="approved",
        device_id="d-9",
        ip="10.0.0.7",
        country="DE",
        user_agent="Mozilla/5.0",
        payment_method="card:****4411",
        rating=5,
        text="great",
        attrs={"shop": "s1"},
    )
    event = parse_event(full)
    assert event.to_record() == full
    assert parse_event(event.to_record()) == event


def test_format_ts_writes_utc_with_z() -> None:
    assert format_ts(BASE_TS) == "2026-03-02T14:01:55Z"
    assert format_ts(BASE_TS + 0.5) == "2026-03-02T14:01:55.500Z"
