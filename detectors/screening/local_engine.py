"""The local engine: hash-partition the events by user into shard files, then screen each shard.

Memory is bounded by one shard (a user's events all land in the same one), not by the input."""

from __future__ import annotations

import marshal
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from detectors.events import Event
from detectors.loading import LoadReport
from detectors.screening.event_rows import event_tuple, shard_of
from detectors.screening.input_files import case_sequences, text_bytes, user_events
from detectors.screening.scoring import ScreenCounts, SequenceScreener
from detectors.sequences import Sequence, group_sequences, order_events

SHARD_TEXT_BYTES = 96 * 2**20
"""Input text per shard: about 330k events of the simulator's size, ~0.5 GB once parsed."""
FLUSH_RECORDS = 8192
"""Records buffered per shard before they are appended to its file."""


def shard_count(files: list[Path], shard_bytes: int = SHARD_TEXT_BYTES) -> int:
    return max(1, math.ceil(text_bytes(files) / shard_bytes))


class _ShardFiles:
    """Append-only shard files of marshalled records, written in buffered chunks."""

    def __init__(self, directory: Path, shards: int) -> None:
        self.paths = [directory / f"shard-{index:05d}.bin" for index in range(shards)]
        self._handles: list[IO[bytes]] = [path.open("wb") for path in self.paths]
        self._buffers: list[list[Any]] = [[] for _ in self.paths]

    def add(self, shard: int, record: Any) -> None:
        buffer = self._buffers[shard]
        buffer.append(record)
        if len(buffer) >= FLUSH_RECORDS:
            marshal.dump(buffer, self._handles[shard])
            buffer.clear()

    def close(self) -> None:
        for buffer, handle in zip(self._buffers, self._handles, strict=True):
            if buffer:
                marshal.dump(buffer, handle)
            handle.close()


def _read_shard(path: Path) -> Iterator[Any]:
    with path.open("rb") as handle:
        while True:
            try:
                chunk = marshal.load(handle)
            except EOFError:
                return
            yield from chunk


def partition_files(
    files: list[Path], fmt: str, shard_files: _ShardFiles, reports: list[LoadReport]
) -> None:
    """Every event (or case) of `files`, in file order, to the shard of its user (or case)."""
    shards = len(shard_files.paths)
    for path in tqdm(files, desc="partitioning", unit="file"):
        report = LoadReport(str(path))
        reports.append(report)
        if fmt == "cases":
            for case, events in case_sequences(path, report):
                record = (case, [event_tuple(event) for event in events])
                shard_files.add(shard_of(case["case_id"], shards), record)
        else:
            for event in user_events(path, fmt, report):
                shard_files.add(shard_of(event.user_id, shards), event_tuple(event))


def shard_sequences(path: Path, fmt: str) -> tuple[list[Sequence], list[dict[str, Any]] | None]:
    """One shard's sequences: users grouped, ordered and deduplicated; cases one each, with
    their case records."""
    if fmt != "cases":
        return group_sequences(Event(*values) for values in _read_shard(path)), None
    cases, sequences = [], []
    for case, values in _read_shard(path):
        events = [Event(*value) for value in values]
        cases.append(case)
        sequences.append(Sequence(events[0].user_id, order_events(events)))
    return sequences, cases


def screen_locally(
    files: list[Path],
    fmt: str,
    screener: SequenceScreener,
    shards: int,
    batch_size: int,
    reports: list[LoadReport],
) -> ScreenCounts:
    """Partition `files` into `shards` temporary files, then screen one shard at a time.

    `reports` receives each input file's LoadReport as it is read."""
    counts = ScreenCounts()
    with tempfile.TemporaryDirectory(prefix="fraudlens-screen-") as scratch:
        shard_files = _ShardFiles(Path(scratch), shards)
        try:
            partition_files(files, fmt, shard_files, reports)
        finally:
            shard_files.close()
        for index, path in enumerate(tqdm(shard_files.paths, desc="screening", unit="shard")):
            sequences, cases = shard_sequences(path, fmt)
            path.unlink()
            for start in range(0, len(sequences), batch_size):
                stop = start + batch_size
                batch_cases = cases[start:stop] if cases is not None else None
                name = f"{index:05d}-{start // batch_size:05d}"
                counts.add(screener.screen(sequences[start:stop], batch_cases, name))
    return counts
