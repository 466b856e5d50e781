"""The local engine: hash-partition the events by user into shard files, then screen each shard.

Memory is bounded by one shard per worker (a user's events all land in the same shard), not by
the input. With more than one worker, input files are partitioned in parallel (each file into
its own piece of every shard) and shards are screened in parallel, one detector per process."""

from __future__ import annotations

import marshal
import math
import multiprocessing
import os
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

from tqdm import tqdm

from detectors.events import Event
from detectors.loading import LoadReport
from detectors.screening.event_rows import event_tuple, shard_of
from detectors.screening.gc_pause import cyclic_gc_paused
from detectors.screening.input_files import case_sequences, text_bytes, user_event_rows
from detectors.screening.scoring import ScreenCounts, ScreenOutput, SequenceScreener
from detectors.sequences import Sequence, group_sequences, order_events

SHARD_TEXT_BYTES = 96 * 2**20
"""Input text per shard: about 330k events of the simulator's size, ~0.5 GB once parsed."""
PARALLEL_MIN_BYTES = 16 * 2**20
"""Below this much input text one process screens it all: starting workers would cost more."""
FLUSH_RECORDS = 8192
"""Records buffered per shard before they are appended to its file."""
CHUNK_HEADER = struct.Struct("<Q")
"""Each chunk of a shard file is its byte length, then that many bytes of marshal: read back
with one `marshal.loads` (`marshal.load` on a file reads it a few bytes at a time, 5x slower)."""

T = TypeVar("T")
R = TypeVar("R")
Runner = Callable[[Callable[[T], R], list[T], str], list[R]]
"""Applies a task to every item, in any process, and returns the results in item order."""


@dataclass(frozen=True, slots=True)
class LocalPlan:
    shards: int
    workers: int
    threads_per_worker: int


def plan(
    files: list[Path], shard_bytes: int, workers: int | None, threads: int | None
) -> LocalPlan:
    """Shards so that each holds at most `shard_bytes` of text, in a multiple of the workers
    (every worker screens as many, so none waits alone for the last one); the cores (or
    `threads`) shared among the workers. By default one worker per core, or one for an input
    too small to pay for starting them."""
    text = text_bytes(files)
    cores = os.cpu_count() or 1
    used = workers or (cores if text >= PARALLEL_MIN_BYTES else 1)
    shards = math.ceil(max(1, math.ceil(text / shard_bytes)) / used) * used
    return LocalPlan(shards, used, max(1, (threads or cores) // used))


class _ShardFiles:
    """Append-only shard files of marshalled records, written in buffered chunks.

    Marshal, not JSON, because these are this run's own temporary files, never anyone's input;
    the records were validated before they were written."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._handles: list[IO[bytes]] = [path.open("wb") for path in self.paths]
        self._buffers: list[list[Any]] = [[] for _ in self.paths]

    def add(self, shard: int, record: Any) -> None:
        buffer = self._buffers[shard]
        buffer.append(record)
        if len(buffer) >= FLUSH_RECORDS:
            _write_chunk(self._handles[shard], buffer)
            buffer.clear()

    def close(self) -> None:
        for buffer, handle in zip(self._buffers, self._handles, strict=True):
            if buffer:
                _write_chunk(handle, buffer)
            handle.close()


def _write_chunk(handle: IO[bytes], records: list[Any]) -> None:
    blob = marshal.dumps(records)
    handle.write(CHUNK_HEADER.pack(len(blob)))
    handle.write(blob)


def piece_path(directory: Path, shard: int, file_index: int) -> Path:
    return directory / f"shard-{shard:05d}-file-{file_index:05d}.bin"


def read_pieces(paths: Iterable[Path]) -> Iterator[Any]:
    for path in paths:
        with path.open("rb") as handle:
            while header := handle.read(CHUNK_HEADER.size):
                (size,) = CHUNK_HEADER.unpack(header)
                yield from marshal.loads(handle.read(size))
        path.unlink()


def partition_file(task: tuple[int, Path], fmt: str, directory: Path, shards: int) -> LoadReport:
    """Every event (or case) of one input file, in file order, to its piece of the shard of
    its user (or case)."""
    file_index, path = task
    report = LoadReport(str(path))
    pieces = _ShardFiles([piece_path(directory, shard, file_index) for shard in range(shards)])
    try:
        if fmt == "cases":
            for case, events in case_sequences(path, report):
                record = (case, [event_tuple(event) for event in events])
                pieces.add(shard_of(case["case_id"], shards), record)
        else:
            for values in user_event_rows(path, fmt, report):
                pieces.add(shard_of(values[0], shards), values)  # values[0]: the user
    finally:
        pieces.close()
    return report


def shard_sequences(
    records: Iterable[Any], fmt: str
) -> tuple[list[Sequence], list[dict[str, Any]] | None]:
    """One shard's sequences: users grouped, ordered and deduplicated; cases one each, with
    their case records."""
    if fmt != "cases":
        return group_sequences(Event(*values) for values in records), None
    cases, sequences = [], []
    for case, values in records:
        events = [Event(*value) for value in values]
        cases.append(case)
        sequences.append(Sequence(events[0].user_id, order_events(events)))
    return sequences, cases


_screener: SequenceScreener | None = None
"""This process's detector: loaded once per worker (or once in the main process)."""


def _load_screener(model: str | None, output: ScreenOutput, threads: int) -> None:
    global _screener
    _screener = SequenceScreener(model, output, threads)


def screen_shard(
    shard: int, fmt: str, directory: Path, files: int, batch_size: int
) -> ScreenCounts:
    """Group, order and score one shard (its pieces read in input-file order), and write it."""
    assert _screener is not None, "the worker's detector is loaded by _load_screener"
    pieces = (piece_path(directory, shard, file_index) for file_index in range(files))
    counts = ScreenCounts()
    with cyclic_gc_paused():
        sequences, cases = shard_sequences(read_pieces(pieces), fmt)
        for batch, batch_cases, name in shard_batches(shard, sequences, cases, batch_size):
            counts.add(_screener.screen(batch, batch_cases, name))
    return counts


def shard_batches(
    shard: int,
    sequences: list[Sequence],
    cases: list[dict[str, Any]] | None,
    batch_size: int,
) -> Iterator[tuple[list[Sequence], list[dict[str, Any]] | None, str]]:
    """A shard's sequences, their case records and output shard name, `batch_size` at a time."""
    for start in range(0, len(sequences), batch_size):
        stop = start + batch_size
        batch_cases = cases[start:stop] if cases is not None else None
        yield sequences[start:stop], batch_cases, f"{shard:05d}-{start // batch_size:05d}"


@contextmanager
def _runner(local: LocalPlan, model: str | None, output: ScreenOutput) -> Iterator[Runner]:
    """Runs tasks in this process (one worker) or in a pool of spawned workers, each with its
    own detector; results come back in task order, with a progress bar."""
    setup = (model, output, local.threads_per_worker)
    if local.workers == 1:
        _load_screener(*setup)

        def inline(task: Callable[[T], R], items: list[T], desc: str) -> list[R]:
            return [task(item) for item in tqdm(items, desc=desc)]

        yield inline
        return
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(local.workers, context, _load_screener, setup) as pool:

        def pooled(task: Callable[[T], R], items: list[T], desc: str) -> list[R]:
            return list(tqdm(pool.map(task, items), total=len(items), desc=desc))

        yield pooled


def screen_locally(
    files: list[Path],
    fmt: str,
    model: str | None,
    output: ScreenOutput,
    local: LocalPlan,
    batch_size: int,
    reports: list[LoadReport],
) -> ScreenCounts:
    """Partition `files` into `local.shards` temporary files, then screen the shards.

    `reports` receives each input file's LoadReport, in the order of `files`."""
    counts = ScreenCounts()
    with tempfile.TemporaryDirectory(prefix="fraudlens-screen-") as scratch:
        directory = Path(scratch)
        with _runner(local, model, output) as run:
            partition = partial(partition_file, fmt=fmt, directory=directory, shards=local.shards)
            reports += run(partition, list(enumerate(files)), "partitioning")
            screen = partial(
                screen_shard, fmt=fmt, directory=directory, files=len(files), batch_size=batch_size
            )
            for shard_counts in run(screen, list(range(local.shards)), "screening"):
                counts.add(shard_counts)
    return counts
