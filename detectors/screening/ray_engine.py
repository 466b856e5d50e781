"""The Ray engine: files read in parallel, a distributed group-by user, detector actors score.

Ray Data plan: one read task per file (the local line parser, so rejects match exactly) →
`groupby(key).map_groups` (a user's events from every file meet, in file order) →
`map_batches(ScreenActor, concurrency=workers)` (the detector loaded once per actor, one GPU
each when the cluster has them), each actor writing its own output shards."""

from __future__ import annotations

import marshal
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import ray

from detectors.loading import LoadReport
from detectors.screening.event_rows import event_tuple, pack_rows, unpack_events, unpack_rows
from detectors.screening.gc_pause import cyclic_gc_paused
from detectors.screening.input_files import case_sequences, user_event_rows
from detectors.screening.scoring import (
    ScreenCounts,
    ScreenOutput,
    SequenceList,
    SequenceScreener,
)
from detectors.sequences import Sequence, order_events

ROWS_PER_BLOCK = 100_000
"""Event rows a read task hands on at a time, so a large file never sits whole in one block."""
FILE_POSITION_BITS = 40
"""A row's position is (file index << 40) + its place in the file: file order across files."""


@ray.remote(num_cpus=0)
class LoadReports:
    """Collects each input file's LoadReport (keyed by path, so a retried read counts once)."""

    def __init__(self) -> None:
        self.by_path: dict[str, LoadReport] = {}

    def put(self, report: LoadReport) -> None:
        self.by_path[report.path] = report

    def reports(self) -> dict[str, LoadReport]:
        return self.by_path


def read_event_rows(
    batch: dict[str, np.ndarray], fmt: str, reports: Any
) -> Iterator[dict[str, list[Any]]]:
    """Rows `key` (user, or case id), `position`, `events` (packed) and `case` (a case file's
    record without events, packed; None for events) of each file in `batch`; `name` is the path
    as the user gave it, so reports read as the local engine's."""
    for path_text, name, file_index in zip(
        batch["path"], batch["name"], batch["index"], strict=True
    ):
        path, base = Path(str(path_text)), int(file_index) << FILE_POSITION_BITS
        report = LoadReport(str(name))
        columns = ("key", "position", "events", "case")
        rows: dict[str, list[Any]] = {name: [] for name in columns}
        keyed: Iterator[tuple[str, list[tuple[Any, ...]], dict[str, Any] | None]]
        if fmt == "cases":
            keyed = (
                (case["case_id"], [event_tuple(event) for event in events], case)
                for case, events in case_sequences(path, report)
            )
        else:
            keyed = ((values[0], [values], None) for values in user_event_rows(path, fmt, report))
        for place, (key, events, case) in enumerate(keyed):
            rows["key"].append(key)
            rows["position"].append(base + place)
            rows["events"].append(pack_rows(events))
            rows["case"].append(marshal.dumps(case))
            if len(rows["key"]) >= ROWS_PER_BLOCK:
                yield rows
                rows = {name: [] for name in columns}
        if rows["key"]:
            yield rows
        ray.get(reports.put.remote(report))


def join_user_events(group: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """One user's event rows, from any file, → one row of its events in file order."""
    order = np.argsort(group["position"], kind="stable")
    events = [row for index in order for row in unpack_rows(group["events"][index])]
    return {
        "key": [str(group["key"][0])],
        "events": [pack_rows(events)],
        "case": [group["case"][0]],
    }


class ScreenActor:
    """A Ray Data actor: loads the detector once, then screens batches of sequences."""

    def __init__(
        self, model: str | None, output: ScreenOutput, fmt: str, threads: int | None
    ) -> None:
        self.screener = SequenceScreener(model, output, threads)
        self.cases = fmt == "cases"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[int]]:
        sequences = []
        with cyclic_gc_paused():
            for blob in batch["events"]:
                events = unpack_events(blob)
                sequences.append(Sequence(events[0].user_id, order_events(events)))
            cases = [marshal.loads(case) for case in batch["case"]] if self.cases else None
            counts = self.screener.screen(SequenceList(sequences, cases), uuid.uuid4().hex)
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
    reports: list[LoadReport],
) -> ScreenCounts:
    """Screen `files` on the connected cluster with `workers` detector actors.

    `reports` receives each input file's LoadReport, in the order of `files`."""
    import ray.data

    collector = LoadReports.remote()  # type: ignore[attr-defined]
    items = [
        {"path": str(path.resolve()), "name": str(path), "index": index}
        for index, path in enumerate(files)
    ]
    rows = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        lambda batch: read_event_rows(batch, fmt, collector), batch_size=1
    )
    if fmt != "cases":
        rows = rows.groupby("key").map_groups(join_user_events, batch_format="numpy")
    resources = ray.cluster_resources()
    gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    # Leave a whole CPU to the read and shuffle tasks: on a small cluster actors holding every
    # CPU wait for ever for the rows those tasks would produce (seen with 2 CPUs, 2 actors).
    cpus = min(1.0, max(resources.get("CPU", 2.0) - 1.0, 0.1) / workers)
    scored = rows.map_batches(
        ScreenActor,
        fn_constructor_kwargs={"model": model, "output": output, "fmt": fmt, "threads": threads},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus,
        num_gpus=gpus,
    )
    counts = ScreenCounts()
    for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
        for users, events, flagged, written in zip(
            batch["users"], batch["events"], batch["flagged"], batch["written"], strict=True
        ):
            counts.add(ScreenCounts(int(users), int(events), int(flagged), int(written)))
    by_path = ray.get(collector.reports.remote())
    reports.extend(by_path[str(path)] for path in files)
    return counts
