"""DeepLog's log-key files (e.g. HDFS): one session a line, its log keys as integers in order."""

from __future__ import annotations

from itertools import count
from pathlib import Path

from detectors.adapters.rows import Adapter, RowParser
from detectors.events import Event, EventError


def open_session_parser(_path: Path) -> RowParser:
    """Each line is a session `s<n>` (n counts the file's non-empty lines from 1); there are no
    timestamps, so event i of a session gets ts = i seconds and every gap is the same."""
    numbers = count(1)

    def session_events(row: list[str]) -> list[Event]:
        session = f"s{next(numbers)}"
        keys = row[0].split()
        if not keys:
            raise EventError("log_keys", "line has no log keys")
        for key in keys:
            if not key.isdigit():
                raise EventError("log_keys", f"log key {key!r} is not a non-negative integer")
        return [
            Event(user_id=session, ts=float(position), action=f"other:key{key}")
            for position, key in enumerate(keys)
        ]

    return session_events


DEEPLOG = Adapter(
    file="../benchmarks/hdfs/hdfs_train",
    columns=("log_keys",),
    open_parser=open_session_parser,
    has_header=False,
    delimiter="\t",
)
