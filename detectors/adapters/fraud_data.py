"""E-commerce payment-fraud set (`fraud_data.csv`): per user a sign-up, then one purchase."""

from __future__ import annotations

import bisect
import csv
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from detectors.adapters.rows import (
    Adapter,
    RowParser,
    check_header,
    parse_flag,
    parse_integer,
    parse_number,
    parse_required,
)
from detectors.events import Event, EventError
from detectors.loading import open_text

COUNTRY_TABLE = "IpAddress_to_Country.csv"
_COUNTRY_COLUMNS = ("lower_bound_ip_address", "upper_bound_ip_address", "country")


class CountryRanges:
    """IPv4 integer ranges → country, looked up by bisection."""

    def __init__(self, path: Path) -> None:
        ranges = []
        with open_text(path) as handle:
            rows = csv.reader(handle)
            check_header(path, next(rows, []), _COUNTRY_COLUMNS)
            for row in rows:
                # An auxiliary table cut short by its source: a range that does not parse is
                # left out, and its ips simply get no country.
                if len(row) == 3 and row[2]:
                    try:
                        ranges.append((int(float(row[0])), int(float(row[1])), row[2]))
                    except ValueError:
                        continue
        ranges.sort()
        self._lows = [low for low, _, _ in ranges]
        self._ranges = ranges

    def __len__(self) -> int:
        return len(self._ranges)

    def country(self, ip: int) -> str | None:
        index = bisect.bisect_right(self._lows, ip) - 1
        if index < 0:
            return None
        _, high, name = self._ranges[index]
        return name if ip <= high else None


def _us_time(column: str, text: str) -> float:
    """`M/D/YYYY H:MM` → Unix seconds, taken as UTC (the set gives no zone)."""
    try:
        date, clock = text.split(" ")
        month, day, year = date.split("/")
        hour, minute = clock.split(":")
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError:
        raise EventError(column, f"not a M/D/YYYY H:MM time: {text!r}") from None
    return moment.timestamp()


def _ip_integer(column: str, text: str) -> int:
    """The set stores each IPv4 address as a float; its integer part is the address."""
    value = int(parse_number(column, text))
    if not 0 <= value < 2**32:
        raise EventError(column, f"{value} is not an IPv4 address (0 to 2^32 - 1)")
    return value


def open_fraud_data_parser(path: Path) -> RowParser:
    """`country` comes from IpAddress_to_Country.csv beside the file when it is there (an ip
    in no range gets none); `class` is validated but kept out of the events: it is the label."""
    table = path.parent / COUNTRY_TABLE
    countries = CountryRanges(table) if table.is_file() else None

    def parse(row: list[str]) -> list[Event]:
        user_id, signup, purchase, value, device_id, source, browser, sex, age, ip, label = row
        user_id = parse_required("user_id", user_id)
        signup_ts = _us_time("signup_time", signup)
        purchase_ts = _us_time("purchase_time", purchase)
        amount = parse_number("purchase_value", value)
        attrs = {"source": source, "browser": browser, "sex": sex, "age": parse_integer("age", age)}
        ip_value = _ip_integer("ip_address", ip)
        parse_flag("class", label)
        device = parse_required("device_id", device_id)
        dotted = str(ipaddress.IPv4Address(ip_value))
        country = countries.country(ip_value) if countries else None
        return [
            Event(
                user_id,
                signup_ts,
                "account_signup",
                device_id=device,
                ip=dotted,
                country=country,
                attrs=attrs,
            ),
            Event(
                user_id,
                purchase_ts,
                "purchase",
                amount=amount,
                device_id=device,
                ip=dotted,
                country=country,
                attrs=dict(attrs),
            ),
        ]

    return parse


def fraud_data_labels(rows: Iterable[list[str]]) -> dict[str, int]:
    """`class` per user: 1 = fraud."""
    return {user_id: int(label) for user_id, *_, label in rows}


FRAUD_DATA = Adapter(
    file="fraud_ecommerce/fraud_data.csv",
    columns=(
        "user_id",
        "signup_time",
        "purchase_time",
        "purchase_value",
        "device_id",
        "source",
        "browser",
        "sex",
        "age",
        "ip_address",
        "class",
    ),
    open_parser=open_fraud_data_parser,
    read_labels=fraud_data_labels,
)
