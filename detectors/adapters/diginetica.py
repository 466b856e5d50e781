"""DIGINETICA (CIKM Cup 2016) item views, `;`-separated, one anonymous or known user a session."""

from __future__ import annotations

from detectors.adapters.rows import (
    Adapter,
    parse_integer,
    parse_required,
    parse_utc_time,
    same_parser,
)
from detectors.events import Event


def diginetica_events(row: list[str]) -> list[Event]:
    """Assumption: `timeframe` is milliseconds since the session's first event (CIKM Cup 2016)
    and the time of day is not published, so every session starts at its `eventdate`'s
    midnight UTC: gaps inside a session are exact, gaps between sessions only to the day.
    A user given as `NA` (most rows) becomes the anonymous session, `session:<session_id>`."""
    session_id, user_id, item_id, timeframe, eventdate = row
    session_id = parse_required("session_id", session_id)
    item_id = parse_required("item_id", item_id)
    offset_s = parse_integer("timeframe", timeframe) / 1000
    return [
        Event(
            user_id=user_id if user_id and user_id != "NA" else f"session:{session_id}",
            ts=parse_utc_time("eventdate", eventdate) + offset_s,
            action="view",
            session_id=session_id,
            item_id=item_id,
        )
    ]


DIGINETICA = Adapter(
    file="diginetica/sample_train-item-views.csv",
    columns=("session_id", "user_id", "item_id", "timeframe", "eventdate"),
    open_parser=same_parser(diginetica_events),
    delimiter=";",
)
