"""The files a screen reads, and their events keyed by what groups them (user or case)."""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa

from detectors.events import Event
from detectors.loading import LoadReport, iter_cases, iter_events
from detectors.screening.event_rows import event_tuple
from detectors.screening.event_table import CONVERT_EVENTS, events_batch
from detectors.screening.json_blocks import jsonl_event_batches

GZIP_EXPANSION = 6
"""A rough text-to-gzip ratio of event files, for sizing shards before reading them."""


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the files in it (sorted, hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files


def text_bytes(files: list[Path]) -> int:
    """About how many bytes of text the files hold once decompressed."""
    return sum(f.stat().st_size * (GZIP_EXPANSION if f.suffix == ".gz" else 1) for f in files)


def case_sequences(path: Path, report: LoadReport) -> Iterator[tuple[dict[str, Any], list[Event]]]:
    """Each case of a case file, as its record without events (id, labels, anything else),
    with its events: one sequence per case, as `load_sequences` reads them."""
    for case in iter_cases(path, report):
        fields = case.to_record()
        del fields["events"]
        yield fields, case.events


def keyed_event_batches(
    path: Path, fmt: str, report: LoadReport, file_index: int
) -> Iterator[pa.RecordBatch]:
    """Every event of input file number `file_index` as SCHEMA batches, in file order: `key`
    groups events into sequences (the user; in a case file, the case, so that a case's events
    stay one sequence), `case` is the case record (marshalled) on a case's first event. JSON
    Lines event files are read a block at a time by Arrow (`json_blocks`)."""
    if fmt == "jsonl" and path.suffix != ".parquet":
        return jsonl_event_batches(path, report)
    return _batched(_keyed_event_rows(path, fmt, report, file_index))


def _batched(rows: Iterator[tuple[str, bytes | None, tuple[Any, ...]]]) -> Iterator[pa.RecordBatch]:
    while chunk := list(islice(rows, CONVERT_EVENTS)):
        keys, cases, values = zip(*chunk, strict=True)
        yield events_batch(list(keys), list(cases), list(values))


def _keyed_event_rows(
    path: Path, fmt: str, report: LoadReport, file_index: int
) -> Iterator[tuple[str, bytes | None, tuple[Any, ...]]]:
    if fmt != "cases":
        for event in iter_events(path, fmt, report):
            values = event_tuple(event)
            yield values[0], None, values
        return
    for number, (case, events) in enumerate(case_sequences(path, report)):
        key, record = f"{file_index}:{number}", marshal.dumps(case)
        yield key, record, event_tuple(events[0])
        for event in events[1:]:
            yield key, None, event_tuple(event)
