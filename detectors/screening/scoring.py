"""Score sequences with one loaded detector and write their records: what every engine shares."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from detectors.screening.event_table import ShardBatch, ShardTable
from detectors.screening.records import screened_record, user_record
from detectors.screening.writers import ShardWriter, is_single_file, output_format

if TYPE_CHECKING:
    from detectors.detector import LSTMDetector, ScoredSequences


@dataclass(slots=True)
class ScreenCounts:
    users: int = 0
    events: int = 0
    flagged: int = 0
    written: int = 0

    def add(self, other: ScreenCounts) -> None:
        self.users += other.users
        self.events += other.events
        self.flagged += other.flagged
        self.written += other.written


@dataclass(frozen=True, slots=True)
class ScreenOutput:
    """Where a screen writes. A path ending in `.jsonl` / `.parquet` is one file, joined from
    shards at the end; any other path is a folder of shards."""

    users: Path
    """Every user with `all_users`, else the flagged ones: score, flag, top events."""
    users_format: str = "jsonl"
    """For a folder of shards: `jsonl` or `parquet`."""
    flagged: Path | None = None
    """The flagged users with all their events (`screened` format, JSONL), when asked for."""
    top: int = 5
    all_users: bool = False

    def _staging(self, path: Path) -> Path:
        return path.with_name(f".{path.name}.shards") if is_single_file(path) else path

    def users_writer(self) -> ShardWriter:
        fmt = output_format(self.users, self.users_format)
        return ShardWriter(self._staging(self.users), "users", fmt)

    def flagged_writer(self) -> ShardWriter | None:
        if self.flagged is None:
            return None
        return ShardWriter(self._staging(self.flagged), "flagged", "jsonl")

    def writers(self) -> list[ShardWriter]:
        flagged = self.flagged_writer()
        return [self.users_writer(), *([flagged] if flagged else [])]

    def start(self) -> None:
        for writer in self.writers():
            writer.clear()

    def finish(self) -> None:
        """Join the shards of a one-file output into that file."""
        for writer, path in zip(self.writers(), (self.users, self.flagged), strict=False):
            if path is not None and is_single_file(path):
                writer.join_into(path)
                shutil.rmtree(writer.directory)


class SequenceScreener:
    """Loads the detector once (a Ray actor keeps it for every batch) and screens batches."""

    def __init__(self, model: str | None, output: ScreenOutput, threads: int | None) -> None:
        """`threads`: CPU threads for scoring (default every core), set after the detector is
        loaded, since loading sets every core."""
        from detectors.detector import load_detector
        from detectors.training import use_all_cores

        self.detector: LSTMDetector = load_detector(Path(model) if model else None)
        use_all_cores(threads)
        self.output = output
        self.users_writer = output.users_writer()
        self.flagged_writer = output.flagged_writer()

    def screen_table(self, table: ShardTable, batch_size: int, name: str) -> ScreenCounts:
        """Screen every sequence of `table`, `batch_size` at a time, as shards `<name>-<n>`."""
        counts = ScreenCounts()
        for start in range(0, len(table), batch_size):
            batch = table.batch(start, start + batch_size)
            counts.add(self.screen(batch, f"{name}-{start // batch_size:05d}"))
        return counts

    def screen(self, batch: ShardBatch, shard_name: str) -> ScreenCounts:
        """Score `batch`, write its records as shard `shard_name`, and count them."""
        scored = self.detector.score_columns(batch.columns(), batch.user_ids)
        return self.write(scored, batch, shard_name)

    def write(self, scored: ScoredSequences, batch: ShardBatch, shard_name: str) -> ScreenCounts:
        """Write the records of `batch`, scored, as shard `shard_name`, and count them."""
        users: list[dict[str, Any]] = []
        flagged: list[dict[str, Any]] = []
        for index in self._written(scored):
            case = batch.cases[index] if batch.cases is not None else None
            case_id = case["case_id"] if case is not None else None
            record = user_record(scored, index, case_id, self.output.top)
            users.append(record)
            if scored.flagged[index] and self.flagged_writer is not None:
                sequence = batch.sequence(index)
                flagged.append(screened_record(record, sequence, self.detector.version, case))
        self.users_writer.write(shard_name, users)
        if self.flagged_writer is not None:
            self.flagged_writer.write(shard_name, flagged)
        return ScreenCounts(
            users=len(scored),
            events=int(scored.columns.offsets[-1]),
            flagged=int(scored.flagged.sum()),
            written=len(users),
        )

    def _written(self, scored: ScoredSequences) -> list[int]:
        """Which sequences get a record: every one with `all_users`, else the flagged."""
        if self.output.all_users:
            return list(range(len(scored)))
        return np.flatnonzero(scored.flagged).tolist()
