"""TalkingData AdTracking clicks: user = ip, a click is `ad_click`, a download `app_install`."""

from __future__ import annotations

from collections.abc import Iterable

from detectors.adapters.rows import (
    Adapter,
    parse_flag,
    parse_required,
    parse_utc_time,
    same_parser,
)
from detectors.events import Event


def talkingdata_events(row: list[str]) -> list[Event]:
    """`device` is a device *type* code shared by most clicks, so it stays in `attrs` rather
    than `device_id`, where it would make every ip look like one shared device. The clicked
    app is also the `item_id`, so clicks on two apps in one second stay two events."""
    ip, app, device, os, channel, click_time, attributed_time, is_attributed = row
    ip = parse_required("ip", ip)
    attrs = {"app": app, "os": os, "channel": channel, "device": device}
    click_ts = parse_utc_time("click_time", click_time)
    click = Event(ip, click_ts, "ad_click", item_id=app, ip=ip, attrs=attrs)
    if not parse_flag("is_attributed", is_attributed):
        return [click]
    install_ts = parse_utc_time("attributed_time", attributed_time)
    return [click, Event(ip, install_ts, "app_install", item_id=app, ip=ip, attrs=dict(attrs))]


def talkingdata_labels(rows: Iterable[list[str]]) -> dict[str, int]:
    """Click-fraud proxy: an ip is 1 when none of its clicks converted (no `is_attributed=1`
    row), else 0. Not a ground truth: an honest ip can click without installing."""
    labels: dict[str, int] = {}
    for ip, *_, is_attributed in rows:
        labels[ip] = 0 if is_attributed == "1" else labels.get(ip, 1)
    return labels


TALKINGDATA = Adapter(
    file="talkingdata/train_sample.csv",
    columns=(
        "ip",
        "app",
        "device",
        "os",
        "channel",
        "click_time",
        "attributed_time",
        "is_attributed",
    ),
    open_parser=same_parser(talkingdata_events),
    read_labels=talkingdata_labels,
)
