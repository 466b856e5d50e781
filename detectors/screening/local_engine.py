"""The local engine: hash-partition the events by user into shard files, then screen each shard.

Memory is bounded by one shard per worker (a user's events all land in the same shard), not by
the input. With more than one worker, input files are partitioned in parallel (each file into
its own piece of every shard) and shards are screened in parallel, one detector per process."""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from detectors.loading import LoadReport
from detectors.screening.event_table import PieceWriter, ShardTable, read_pieces
from detectors.screening.input_files import keyed_event_batches, text_bytes
from detectors.screening.scoring import ScreenCounts, ScreenOutput, SequenceScreener

SHARD_TEXT_BYTES = 96 * 2**20
"""Input text per shard: about 330k events of the simulator's size."""
PARALLEL_MIN_BYTES = 16 * 2**20
"""Below this much input text one process screens it all: starting workers would cost more."""
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


def piece_path(directory: Path, shard: int, file_index: int) -> Path:
    return directory / f"shard-{shard:05d}-file-{file_index:05d}.arrow"


def partition_file(task: tuple[int, Path], fmt: str, directory: Path, shards: int) -> LoadReport:
    """Every event of one input file, in file order, to its piece of the shard of its user
    (or, in a case file, of its case: a case's events stay one sequence)."""
    file_index, path = task
    report = LoadReport(str(path))
    pieces = PieceWriter([piece_path(directory, shard, file_index) for shard in range(shards)])
    try:
        for batch in keyed_event_batches(path, fmt, report, file_index):
            pieces.add(batch)
    finally:
        pieces.close()
    return report


_screener: SequenceScreener | None = None
"""This process's detector: loaded once per worker (or once in the main process)."""


def _load_screener(model: str | None, output: ScreenOutput, threads: int) -> None:
    global _screener
    _screener = SequenceScreener(model, output, threads)


def screen_shard(shard: int, directory: Path, files: int, batch_size: int) -> ScreenCounts:
    """Group, order and score one shard (its pieces read in input-file order), and write it."""
    assert _screener is not None, "the worker's detector is loaded by _load_screener"
    table = ShardTable(read_pieces(piece_path(directory, shard, f) for f in range(files)))
    return _screener.screen_table(table, batch_size, f"{shard:05d}")


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
                screen_shard, directory=directory, files=len(files), batch_size=batch_size
            )
            for shard_counts in run(screen, list(range(local.shards)), "screening"):
                counts.add(shard_counts)
    return counts
