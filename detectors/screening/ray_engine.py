"""The Ray engine: files read in parallel, a distributed group-by user, detector actors score.

Ray Data plan: one read task per file (the local engine's reader, so rejects match exactly), its
events as Arrow tables → `repartition(keys=["key"])`, a hash shuffle that puts every event of a
user (from any file) in one block → `map_batches(ScreenActor, batch_size=None)`: whole blocks,
so whole users, to detector actors (loaded once each, one GPU each when the cluster has them)
that group a block as the local engine groups a shard, score it and write their own shards."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import ray

from detectors.loading import LoadReport
from detectors.screening.event_table import ShardTable
from detectors.screening.input_files import keyed_event_batches, text_bytes
from detectors.screening.scoring import ScreenCounts, ScreenOutput, SequenceScreener

ROWS_PER_BLOCK = 100_000
"""Events a read task hands on at a time, so a large file never sits whole in one block."""
READ_CPUS = 0.5
"""CPU reserved per read task. The detector actors wait, holding their CPUs, until the shuffle
has every event, so the reads may share those cores: with one CPU each, a 2-CPU machine whose
actors hold one read a file at a time (reading 4 files took 61 s instead of ~30 s)."""
FILE_POSITION_BITS = 40
"""An event's position is (file index << 40) + its place in the file: file order across files."""


@ray.remote(num_cpus=0)
class LoadReports:
    """Collects each input file's LoadReport (keyed by path, so a retried read counts once)."""

    def __init__(self) -> None:
        self.by_path: dict[str, LoadReport] = {}

    def put(self, report: LoadReport) -> None:
        self.by_path[report.path] = report

    def reports(self) -> dict[str, LoadReport]:
        return self.by_path


def read_event_tables(batch: dict[str, np.ndarray], fmt: str, reports: Any) -> Iterator[pa.Table]:
    """The events of each file in `batch` as tables of the local engine's shard columns plus
    `position` (file order across files); `name` is the path as the user gave it, so reports
    read as the local engine's."""
    for path_text, name, file_index in zip(
        batch["path"], batch["name"], batch["index"], strict=True
    ):
        path, first = Path(str(path_text)), int(file_index) << FILE_POSITION_BITS
        report = LoadReport(str(name))
        pending: list[pa.RecordBatch] = []
        rows = 0
        for events in keyed_event_batches(path, fmt, report, int(file_index)):
            pending.append(events)
            rows += len(events)
            if rows >= ROWS_PER_BLOCK:
                yield _positioned(pa.concat_batches(pending), first)
                first += rows
                pending, rows = [], 0
        if pending:
            yield _positioned(pa.concat_batches(pending), first)
        ray.get(reports.put.remote(report))


def _positioned(batch: pa.RecordBatch, first: int) -> pa.Table:
    positions = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
    return pa.Table.from_batches([batch]).append_column("position", positions)


class ScreenActor:
    """A Ray Data actor: loads the detector once, then screens whole blocks of users."""

    def __init__(
        self, model: str | None, output: ScreenOutput, batch_size: int, threads: int | None
    ) -> None:
        self.screener = SequenceScreener(model, output, threads)
        self.batch_size = batch_size

    def __call__(self, block: pa.Table) -> dict[str, list[int]]:
        counts = ScreenCounts()
        if block.num_rows:  # a shuffle block may hold no user (and then may lack columns)
            table = ShardTable(block.sort_by("position"))  # file order, as the local engine
            counts = self.screener.screen_table(table, self.batch_size, uuid.uuid4().hex)
        return {
            "users": [counts.users],
            "events": [counts.events],
            "flagged": [counts.flagged],
            "written": [counts.written],
        }


def connect(address: str | None) -> None:
    """Join the cluster at `address` (`auto`, `ray://host:10001`), or start one on this machine."""
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False)


def screen_on_ray(
    files: list[Path],
    fmt: str,
    model: str | None,
    output: ScreenOutput,
    workers: int,
    batch_size: int,
    threads: int | None,
    shard_bytes: int,
    reports: list[LoadReport],
) -> ScreenCounts:
    """Screen `files` on the connected cluster with `workers` detector actors, the events
    shuffled into blocks of about `shard_bytes` of input text each (at least one per worker).

    `reports` receives each input file's LoadReport, in the order of `files`."""
    import ray.data

    collector = LoadReports.remote()  # type: ignore[attr-defined]
    items = [
        {"path": str(path.resolve()), "name": str(path), "index": index}
        for index, path in enumerate(files)
    ]
    events = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        lambda batch: read_event_tables(batch, fmt, collector),
        batch_size=1,
        num_cpus=READ_CPUS,
    )
    blocks = max(workers, math.ceil(text_bytes(files) / shard_bytes))
    users = events.repartition(blocks, keys=["key"])
    resources = ray.cluster_resources()
    gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    # Leave a whole CPU to the read and shuffle tasks: on a small cluster actors holding every
    # CPU wait for ever for the rows those tasks would produce (seen with 2 CPUs, 2 actors).
    cpus = min(1.0, max(resources.get("CPU", 2.0) - 1.0, 0.1) / workers)
    scored = users.map_batches(
        ScreenActor,
        fn_constructor_kwargs={
            "model": model, "output": output, "batch_size": batch_size, "threads": threads,
        },
        batch_size=None,  # whole blocks: a user's events are never split between calls
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus,
        num_gpus=gpus,
    )  # fmt: skip
    counts = ScreenCounts()
    for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
        for users, events, flagged, written in zip(
            batch["users"], batch["events"], batch["flagged"], batch["written"], strict=True
        ):
            counts.add(ScreenCounts(int(users), int(events), int(flagged), int(written)))
    by_path = ray.get(collector.reports.remote())
    reports.extend(by_path[str(path)] for path in files)
    return counts
