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

from detectors.cases import Case, parse_case
from detectors.events import Event, EventError, parse_event

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


def _open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file's bytes, transparently gunzipping `.gz`."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_jsonl(path: Path, parse: Callable[[Any], T], report: LoadReport) -> Iterator[T]:
    # Bytes, decoded line by line, so that one line that is not UTF-8 is rejected, not fatal.
    with _open_binary(path) as lines:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            report.read += 1
            try:
                item = parse(json.loads(raw.decode("utf-8")))
            except UnicodeDecodeError as error:
                report.reject(number, f"not UTF-8 (byte {raw[error.start]:#04x} at {error.start})")
                continue
            except json.JSONDecodeError as error:
                report.reject(number, f"not valid JSON ({error.msg} at column {error.colno})")
                continue
            except EventError as error:
                report.reject(number, str(error))
                continue
            report.kept += 1
            yield item


def read_events(path: str | Path, fmt: str = "jsonl") -> tuple[list[Event], LoadReport]:
    """Load a FORMATS.md event file (`fmt="jsonl"`) or a real data set through its adapter.

    `fmt="cases"` reads a case file and returns the events of all its cases.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"event file not found: {path}")
    report = LoadReport(str(path))
    if fmt == "jsonl":
        events = list(_read_jsonl(path, parse_event, report))
    elif fmt == "cases":
        events = [event for case in _read_jsonl(path, parse_case, report) for event in case.events]
    else:
        from detectors.adapters import ADAPTERS

        if fmt not in ADAPTERS:
            known = ", ".join(["jsonl", "cases", *sorted(ADAPTERS)])
            raise ValueError(f"unknown format {fmt!r}; expected one of: {known}")
        events = list(ADAPTERS[fmt].read(path, report))
    return events, report


def read_cases(path: str | Path) -> tuple[list[Case], LoadReport]:
    """Load a FORMATS.md labelled-case file (plain or .gz)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"case file not found: {path}")
    report = LoadReport(str(path))
    return list(_read_jsonl(path, parse_case, report)), report
