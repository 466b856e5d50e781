"""Writing case sets and plain event files, byte-identical for identical input (also `.gz`)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from detectors.cases import Case


def open_output(path: Path) -> IO[str]:
    """A UTF-8 text file; `.gz` is gzipped with time 0 in its header, so reruns are identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        raw = gzip.GzipFile(path, mode="wb", mtime=0)
        return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    return open(path, "w", encoding="utf-8", newline="\n")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_cases(path: Path, cases: Iterable[Case]) -> tuple[int, int]:
    """FORMATS.md §2 case lines; returns (cases, events) written."""
    n_cases = n_events = 0
    with open_output(path) as out:
        for case in cases:
            out.write(_line(case.to_record()))
            n_cases += 1
            n_events += len(case.events)
    return n_cases, n_events


def write_events(path: Path, cases: Iterable[Case]) -> tuple[int, int]:
    """FORMATS.md §1 event lines of all cases, labels dropped, interleaved in time order as a
    live feed would be; returns (users, events) written."""
    collected = [event for case in cases for event in case.events]
    users = len({event.user_id for event in collected})
    collected.sort(key=lambda event: event.ts)
    with open_output(path) as out:
        for event in collected:
            out.write(_line(event.to_record()))
    return users, len(collected)
