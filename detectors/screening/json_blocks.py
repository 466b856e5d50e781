"""JSON Lines event files read a block at a time into Arrow columns: the screen's fast reader.

A block (about 1 MiB of whole lines) goes to Arrow's JSON reader against the event fields and
is validated column by column, with no Python object per event. The reader is only trusted
where it reads exactly as the line parser (`detectors.loading.parse_json_line`) does, so:

- lines Arrow would read differently go to the line parser, one at a time, and take their
  place again in file order: lines with `attrs` (free-form objects, which Arrow would widen
  into one struct for the whole block), with `\\u` escapes, blank lines and lines that do
  not start with `{`;
- when the rest of the block breaks any rule of the fast path (a field of another JSON type,
  a key the format does not define, a time neither of the form `2026-03-02T14:01:55[.123]Z`
  or `+02:00` nor Unix seconds in years 1 to 9999 (one kind or the other throughout the
  block), a value out of range, text that is not UTF-8, a line that is not JSON), the whole
  block goes to the line parser.

Either way every event, every count and every rejected line's message is the line parser's."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from detectors.events import canonical_action, parse_event_values
from detectors.loading import LoadReport, open_binary, parse_json_line
from detectors.screening.event_rows import EVENT_FIELDS
from detectors.screening.event_table import SCHEMA, events_batch

BLOCK_BYTES = 2**20
"""Text read and parsed at a time: about 3,500 events of the simulator's size."""
_NUMBER_TYPES = {"amount": pa.float64(), "quantity": pa.int64(), "rating": pa.int64()}
_JSON_FIELDS = pa.schema(
    [(name, _NUMBER_TYPES.get(name, pa.string())) for name in EVENT_FIELDS if name != "attrs"]
)
"""Every event field but `attrs`, as the fast path reads them; `ts` as text."""
_PARSES = tuple(
    pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    for schema in (
        _JSON_FIELDS,
        _JSON_FIELDS.set(_JSON_FIELDS.get_field_index("ts"), pa.field("ts", pa.float64())),
    )
)
"""ISO 8601 times, then Unix seconds: a block whose `ts` are all of one kind is read fast
(Arrow stops at the first line of the other kind, well under a millisecond)."""
_ISO_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""The times the fast path reads (Arrow and `datetime.fromisoformat` agree on these)."""
_FIRST_SECOND = -62_135_596_800
"""0001-01-01T00:00:00Z. Arrow reads year 0, which `datetime` refuses: a time before this
goes to the line parser, which decides."""
_LAST_SECOND = 253_402_300_799
"""9999-12-31T23:59:59Z: Unix seconds beyond it (or in its last second, which `datetime` may
round up into year 10000) go to the line parser."""
ATTRS_KEY = b'"attrs"'
"""A line holding this goes to the line parser."""


def jsonl_event_batches(path: Path, report: LoadReport) -> Iterator[pa.RecordBatch]:
    """The events of a JSON Lines event file as SCHEMA batches (key = user), in file order;
    every line counted in `report`, each rejected one by its number."""
    number = 1
    for block in _blocks(path):
        batch = _block_batch(block, number, report)
        if batch.num_rows:
            yield batch
        number += block.count(b"\n")


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last may lack its newline); the UTF-8
    byte-order mark dropped from the start."""
    with open_binary(path) as file:
        carry = file.read(BLOCK_BYTES).removeprefix(codecs.BOM_UTF8)
        while carry:
            more = file.read(BLOCK_BYTES)
            end = carry.rfind(b"\n") + 1
            if more and end:
                yield carry[:end]
                carry = carry[end:] + more
            elif more:  # one line longer than a block
                carry += more
            else:
                yield carry
                return


def _block_batch(block: bytes, first_line: int, report: LoadReport) -> pa.RecordBatch:
    """The events of one block, lines numbered from `first_line`."""
    text = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    lines = len(ends) + (not block.endswith(b"\n"))
    starts = np.concatenate(([0], ends + 1))[:lines]
    stops = np.append(ends, len(block))[:lines]
    escapes = np.flatnonzero(text[:-1] == ord("\\"))
    escapes = escapes[text[escapes + 1] == ord("u")]
    hits = np.concatenate((escapes, list(_find_all(block, ATTRS_KEY))))
    # Lines with `attrs` or a `\u` escape, blank lines and lines that do not start as an
    # object go to the line parser.
    odd = (starts == stops) | (text[np.minimum(starts, len(block) - 1)] != ord("{"))
    by_parser = np.union1d(np.searchsorted(ends, hits), np.flatnonzero(odd))
    by_arrow = np.setdiff1d(np.arange(lines), by_parser)
    fast = _arrow_columns(_cut_lines(block, starts, stops, by_parser), len(by_arrow))
    if fast is None:
        return _line_parsed(block, starts, stops, np.arange(lines), first_line, report)[0]
    report.read += fast.num_rows
    report.kept += fast.num_rows
    slow, slow_lines = _line_parsed(block, starts, stops, by_parser, first_line, report)
    if not slow.num_rows:
        return fast
    order = np.argsort(np.concatenate((by_arrow, slow_lines)), kind="stable")
    return pa.concat_batches([fast, slow]).take(pa.array(order))


def _find_all(block: bytes, needle: bytes) -> Iterator[int]:
    """Where `needle` occurs in `block`."""
    at = block.find(needle)
    while at >= 0:
        yield at
        at = block.find(needle, at + 1)


def _cut_lines(block: bytes, starts: np.ndarray, stops: np.ndarray, cut: np.ndarray) -> bytes:
    """`block` without the lines `cut` (ascending), one line per `\\n`."""
    pieces, start = [], 0
    for line in cut.tolist():
        pieces.append(block[start : starts[line]])
        start = stops[line] + 1
    pieces.append(block[start:])
    return b"".join(pieces)


def _line_parsed(
    block: bytes,
    starts: np.ndarray,
    stops: np.ndarray,
    lines: np.ndarray,
    first_line: int,
    report: LoadReport,
) -> tuple[pa.RecordBatch, np.ndarray]:
    """Lines `lines` of the block through the line parser: their events as a batch, and the
    lines they came from."""
    rows, kept = [], []
    for line in lines.tolist():
        raw = block[starts[line] : stops[line]]
        values = parse_json_line(raw, first_line + line, parse_event_values, report)
        if values is not None:
            rows.append(values)
            kept.append(line)
    batch = events_batch([values[0] for values in rows], [None] * len(rows), rows)
    return batch, np.array(kept, dtype=np.int64)


def _arrow_columns(text: bytes, lines: int) -> pa.RecordBatch | None:
    """`lines` JSON lines (none blank) as a SCHEMA batch, or None where the fast path cannot
    promise the line parser's reading (see the module's docstring)."""
    if not lines:
        return events_batch([], [], [])
    try:
        text.decode("utf-8")  # Arrow's reader does not check
    except UnicodeDecodeError:
        return None
    table = _read_json(text)
    if table is None or table.num_rows != lines:
        return None
    columns: dict[str, Any] = {name: table[name].combine_chunks() for name in table.column_names}
    user_ids, action, ts = columns["user_id"], columns["action"], columns["ts"]
    if user_ids.null_count or action.null_count or ts.null_count:
        return None
    if not all(user and user.strip() == user for user in pc.unique(user_ids).to_pylist()):
        return None
    columns["action"] = _canonical_actions(action)
    columns["ts"] = _seconds(ts)
    if columns["action"] is None or columns["ts"] is None or not _in_range(columns):
        return None
    columns["key"] = user_ids
    columns["case"] = columns["attrs"] = pa.nulls(lines, pa.binary())
    return pa.RecordBatch.from_arrays([columns[name] for name in SCHEMA.names], schema=SCHEMA)


def _read_json(text: bytes) -> pa.Table | None:
    """The lines as a table by the first of _PARSES that reads them all; None if none does."""
    whole = pj.ReadOptions(use_threads=False, block_size=len(text) + 1)  # one chunk
    for parse in _PARSES:
        try:
            return pj.read_json(io.BytesIO(text), read_options=whole, parse_options=parse)
        except pa.ArrowInvalid:
            continue
    return None


def _canonical_actions(action: pa.Array) -> pa.Array | None:
    """Each action as the line parser names it (`other:<name>` for one it does not know)."""
    encoded = action.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    if not all(name and name.strip() == name for name in names):
        return None
    return pa.array([canonical_action(name) for name in names]).take(encoded.indices)


def _seconds(ts: pa.Array) -> pa.Array | None:
    """ISO 8601 times as Unix seconds, as `datetime.fromisoformat(...).timestamp()` gives them
    (integer microseconds / 10⁶, correctly rounded either way); Unix seconds as they are."""
    if pa.types.is_floating(ts.type):
        low, high = pc.min_max(ts).values()
        return ts if low.as_py() >= _FIRST_SECOND and high.as_py() <= _LAST_SECOND else None
    if not pc.all(pc.match_substring_regex(ts, _ISO_TIME)).as_py():
        return None
    try:
        micros = pc.cast(ts, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    except pa.ArrowInvalid:  # 30 February and the like: the line parser words the error
        return None
    seconds = micros.to_numpy() / 1e6
    if seconds.min() < _FIRST_SECOND:
        return None
    return pa.array(seconds)


def _in_range(columns: dict[str, Any]) -> bool:
    """Amounts finite, quantities ≥ 0, ratings 1–5 (the line parser's rules)."""
    amount, quantity, rating = columns["amount"], columns["quantity"], columns["rating"]
    if amount.null_count < len(amount) and not pc.all(pc.is_finite(amount)).as_py():
        return False
    if quantity.null_count < len(quantity) and pc.min(quantity).as_py() < 0:
        return False
    if rating.null_count < len(rating):
        low, high = pc.min_max(rating).values()
        return bool(low.as_py() >= 1 and high.as_py() <= 5)
    return True
