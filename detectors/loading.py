"""Reading event and case files, with a line-level account of what was kept and rejected."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from detectors.cases import Case, parse_case
from detectors.events import Event, EventError, parse_event
from detectors.screening.flagged_records import ScreenedUser, parse_screened

T = TypeVar("T")
MAX_PROBLEMS_KEPT = 1000
"""Problems beyond this many are counted, not stored, so a broken file cannot exhaust memory."""


@dataclass(slots=True)
class LineProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(slots=True)
class LoadReport:
    """How many lines (records) a file had, how many were kept and which were rejected, and why."""

    path: str
    read: int = 0
    kept: int = 0
    rejected: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    def reject(self, line: int, message: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(LineProblem(self.path, line, message))

    def summary(self) -> str:
        return f"{self.path}: read {self.read} lines, kept {self.kept}, rejected {self.rejected}"

    def print_to(self, stream: IO[str] | None = None, max_problems: int = 20) -> None:
        """Print each rejected line (up to `max_problems`) and the summary, to stderr by default."""
        out = stream or sys.stderr
        for problem in self.problems[:max_problems]:
            print(f"rejected {problem}", file=out)
        if self.rejected > max_problems:
            print(f"... and {self.rejected - max_problems} more rejected lines", file=out)
        print(self.summary(), file=out)


def open_text(path: Path) -> IO[str]:
    """Open a text file, transparently gunzipping `.gz`; a UTF-8 BOM is dropped."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file's bytes, transparently gunzipping `.gz`."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _decode_json_line(raw: bytes) -> Any:
    """orjson for speed; a line it refuses is decoded by `json`, which decides and words the
    error, so what is accepted and how a reject reads are the standard library's."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw.decode("utf-8"))


def _read_parquet(path: Path, report: LoadReport) -> Iterator[Event]:
    """Rows of a Parquet file whose columns are FORMATS.md event fields; row N is "line" N."""
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches():
        for row in batch.to_pylist():
            number += 1
            report.read += 1
            record = {key: value for key, value in row.items() if value is not None}
            try:
                event = parse_event(record)
            except EventError as error:
                report.reject(number, str(error))
                continue
            report.kept += 1
            yield event


def read_jsonl(path: Path, parse: Callable[[Any], T], report: LoadReport) -> Iterator[T]:
    """`parse` of every JSON line of `path`, in file order; every line counted in `report`,
    a line that is not JSON or that `parse` rejects (EventError) reported by its number."""
    # Bytes, decoded line by line, so that one line that is not UTF-8 is rejected, not fatal.
    with open_binary(path) as lines:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            item = parse_json_line(raw, number, parse, report)
            if item is not None:
                yield item


def parse_json_line(
    raw: bytes, number: int, parse: Callable[[Any], T], report: LoadReport
) -> T | None:
    """`parse` of line `number` (its bytes), counted in `report`; None for a blank line (not
    counted) and for a line that is not JSON or that `parse` rejects (EventError), reported."""
    if not raw or raw.isspace():  # a blank line (tested without copying it)
        return None
    report.read += 1
    try:
        item = parse(_decode_json_line(raw))
    except UnicodeDecodeError as error:
        report.reject(number, f"not UTF-8 (byte {raw[error.start]:#04x} at {error.start})")
        return None
    except json.JSONDecodeError as error:
        report.reject(number, f"not valid JSON ({error.msg} at column {error.colno})")
        return None
    except EventError as error:
        report.reject(number, str(error))
        return None
    report.kept += 1
    return item


def read_events(path: str | Path, fmt: str = "jsonl") -> tuple[list[Event], LoadReport]:
    """Load a FORMATS.md event file (`fmt="jsonl"`) or a real data set through its adapter.

    `fmt="cases"` reads a case file and returns the events of all its cases.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"event file not found: {path}")
    report = LoadReport(str(path))
    return list(iter_events(path, fmt, report)), report


def iter_events(path: Path, fmt: str, report: LoadReport) -> Iterator[Event]:
    """Stream the events of one file in file order, counting every line in `report`.

    `fmt="jsonl"` reads a `.parquet` file by its columns; `fmt="cases"` yields every case's
    events."""
    if fmt == "jsonl" and path.suffix == ".parquet":
        yield from _read_parquet(path, report)
    elif fmt == "jsonl":
        yield from read_jsonl(path, parse_event, report)
    elif fmt == "cases":
        for case in read_jsonl(path, parse_case, report):
            yield from case.events
    else:
        from detectors.adapters import ADAPTERS

        if fmt not in ADAPTERS:
            known = ", ".join(["jsonl", "cases", *sorted(ADAPTERS)])
            raise ValueError(f"unknown format {fmt!r}; expected one of: {known}")
        yield from ADAPTERS[fmt].read(path, report)


def iter_cases(path: Path, report: LoadReport) -> Iterator[Case]:
    """Stream the cases of one FORMATS.md case file, counting every line in `report`."""
    return read_jsonl(path, parse_case, report)


def iter_screened(path: Path, report: LoadReport) -> Iterator[ScreenedUser]:
    """Stream the records of a `screen` flagged-users file (README, "Screening at scale")."""
    return read_jsonl(path, parse_screened, report)


def read_cases(path: str | Path) -> tuple[list[Case], LoadReport]:
    """Load a FORMATS.md labelled-case file (plain or .gz)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"case file not found: {path}")
    report = LoadReport(str(path))
    return list(iter_cases(path, report)), report


def read_screened(path: str | Path) -> tuple[list[ScreenedUser], LoadReport]:
    """Load a `screen` flagged-users file (plain or .gz): each user's events with its score."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"screened-users file not found: {path}")
    report = LoadReport(str(path))
    return list(iter_screened(path, report)), report
