"""The CSV-row loop shared by the real-data adapters, and the column parsers they use."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from detectors.events import Event, EventError
from detectors.loading import LoadReport, open_text

RowParser = Callable[[list[str]], list[Event]]
"""One CSV row → its events; raises EventError naming the column of a malformed row."""
LabelReader = Callable[[Iterable[list[str]]], dict[str, int]]
"""Kept rows → per-user labels (1 = fraud)."""


@dataclass(frozen=True, slots=True)
class Adapter:
    """One real data set: its CSV layout and how each row becomes events (and labels)."""

    file: str
    """The data set's file, relative to the real-data folder."""
    columns: tuple[str, ...]
    open_parser: Callable[[Path], RowParser]
    """Builds the row parser for one file (Fraud_Data loads its country table beside it)."""
    has_header: bool = True
    delimiter: str = ","
    read_labels: LabelReader | None = None

    def read(self, path: Path, report: LoadReport) -> Iterator[Event]:
        """The events of every row that parses; every data row is counted in `report`."""
        for _row, events in self.kept_rows(path, report):
            yield from events

    def kept_rows(self, path: Path, report: LoadReport) -> Iterator[tuple[list[str], list[Event]]]:
        """Rows that parse, with their events; a truncated or malformed row is rejected with
        its line number, never repaired."""
        parse = self.open_parser(path)
        width = len(self.columns)
        with open_text(path) as handle:
            rows = csv.reader(handle, delimiter=self.delimiter)
            if self.has_header:
                check_header(path, next(rows, []), self.columns)
            for row in rows:
                if not row:
                    continue
                report.read += 1
                if len(row) != width:
                    message = f"expected {width} columns, got {len(row)} (truncated or malformed)"
                    report.reject(rows.line_num, message)
                    continue
                try:
                    events = parse(row)
                except EventError as error:
                    report.reject(rows.line_num, str(error))
                    continue
                report.kept += 1
                yield row, events


def same_parser(parse: RowParser) -> Callable[[Path], RowParser]:
    """For data sets whose rows parse the same whatever the file."""
    return lambda _path: parse


def check_header(path: Path, header: list[str], columns: tuple[str, ...]) -> None:
    """Stray bytes before the first name are ignored (TalkingData's sample starts with `..`)."""
    names = [name.strip() for name in header]
    if names and names[0].endswith(columns[0]):
        names[0] = columns[0]
    if names != list(columns):
        raise ValueError(f"{path}: header {header} is not the expected {list(columns)}")


def parse_required(column: str, text: str) -> str:
    if not text:
        raise EventError(column, "required value is empty")
    return text


def parse_number(column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise EventError(column, f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise EventError(column, f"not a finite number: {text!r}")
    return value


def parse_integer(column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise EventError(column, f"not an integer: {text!r}") from None


def parse_flag(column: str, text: str) -> bool:
    if text not in ("0", "1"):
        raise EventError(column, f"expected 0 or 1, got {text!r}")
    return text == "1"


def parse_utc_time(column: str, text: str) -> float:
    """`YYYY-MM-DD[ HH:MM:SS][ UTC]` → Unix seconds; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.removesuffix(" UTC"))
    except ValueError:
        raise EventError(column, f"not a date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
