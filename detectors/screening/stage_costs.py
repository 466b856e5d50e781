"""Where the local engine's CPU time goes: each stage of screening one file, timed alone.

CPU seconds (`time.process_time`) in this process with one scoring thread, so the figures mean
the same on a busy machine as on an idle one, and add up to the cost of an event on one core."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from detectors.loading import LoadReport
from detectors.screening.event_table import ShardTable, read_pieces
from detectors.screening.input_files import keyed_event_batches
from detectors.screening.local_engine import partition_file, piece_path
from detectors.screening.scoring import ScreenOutput, SequenceScreener

STAGES = ("parse + validate", "partition write", "read back", "group", "score", "records")
"""In the order a local screen runs them; `records` writes every user's record."""
PER_EVENTS = 125_000
SHARDS = 4


@dataclass(slots=True)
class StageCosts:
    events: int
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    """CPU seconds per stage, for all `events`."""

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Adds the CPU seconds of the `with` block to `stage`."""
        start = time.process_time()
        yield
        self.seconds[stage] += time.process_time() - start

    def per_events(self, count: int = PER_EVENTS) -> dict[str, float]:
        """CPU seconds per stage for `count` events."""
        return {stage: seconds * count / self.events for stage, seconds in self.seconds.items()}

    @property
    def events_per_cpu_s(self) -> float:
        return self.events / sum(self.seconds.values())


def measure_stages(path: Path, fmt: str, model: str | None, batch_size: int) -> StageCosts:
    """Screen one file as the local engine does (partition into shards, then read, group, score
    and write each), timing every stage; parsing is timed on its own first, and the partition
    write is the partition's time beyond it."""
    if fmt == "cases":
        raise ValueError("stage costs are measured on event files; got --format cases")
    parse_start = time.process_time()
    events = sum(map(len, keyed_event_batches(path, fmt, LoadReport(str(path)), 0)))
    parse_s = time.process_time() - parse_start
    if not events:
        raise ValueError(f"{path}: no usable event to time the stages on")
    costs = StageCosts(events)
    costs.seconds["parse + validate"] = parse_s
    with tempfile.TemporaryDirectory(prefix="fraudlens-stages-") as scratch:
        directory = Path(scratch)
        with costs.timing("partition write"):
            partition_file((0, path), fmt, directory, SHARDS)
        # The partition parses again: its write is what it cost beyond parsing (never < 0,
        # which timer noise could give on a tiny file).
        costs.seconds["partition write"] = max(0.0, costs.seconds["partition write"] - parse_s)
        output = ScreenOutput(directory / "users", all_users=True)
        output.start()
        screener = SequenceScreener(model, output, threads=1)
        for shard in range(SHARDS):
            with costs.timing("read back"):
                table = read_pieces([piece_path(directory, shard, 0)])
            with costs.timing("group"):
                sequences = ShardTable(table)
            for start in range(0, len(sequences), batch_size):
                batch = sequences.batch(start, start + batch_size)
                with costs.timing("score"):
                    scored = screener.detector.score_columns(batch.columns(), batch.user_ids)
                with costs.timing("records"):
                    screener.write(scored, batch, f"{shard:05d}-{start // batch_size:05d}")
    return costs
