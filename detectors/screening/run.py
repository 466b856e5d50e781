"""One screen, whichever engine runs it: counts, per-file reports, time and peak memory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from detectors.loading import LoadReport
from detectors.screening.memory import PeakMemory
from detectors.screening.scoring import ScreenCounts, ScreenOutput

RAY_DEFAULT_WORKERS = 2


@dataclass(frozen=True, slots=True)
class EngineOptions:
    engine: str = "local"
    """`local` (one process, bounded memory) or `ray`."""
    workers: int | None = None
    """Local: processes (default every core; one for a small input); Ray: detector actors
    (default 2)."""
    batch_size: int = 1024
    """Sequences per detector call."""
    shard_bytes: int = 96 * 2**20
    """Local: input text per on-disk shard; bounds memory."""
    threads: int | None = None
    """CPU threads for scoring (per Ray actor); default every core, shared by the actors."""
    address: str | None = None
    """Ray cluster to join; default: start one on this machine."""


@dataclass(slots=True)
class ScreenRun:
    counts: ScreenCounts
    reports: list[LoadReport]
    """One per input file, in the order given."""
    elapsed_s: float
    peak_mib: float
    """Peak resident memory of this process and its children (Ray's workers), sampled."""

    @property
    def rejected(self) -> int:
        return sum(report.rejected for report in self.reports)

    @property
    def events_per_s(self) -> float:
        return self.counts.events / self.elapsed_s


def run_screen(
    files: list[Path], fmt: str, model: Path | None, output: ScreenOutput, options: EngineOptions
) -> ScreenRun:
    """Screen `files` with the chosen engine into `output`; time and memory cover it all."""
    reports: list[LoadReport] = []
    output.start()
    with PeakMemory() as memory:
        started = time.perf_counter()
        if options.engine == "ray":
            counts = _on_ray(files, fmt, model, output, options, reports)
        else:
            counts = _locally(files, fmt, model, output, options, reports)
        output.finish()
        elapsed = time.perf_counter() - started
    return ScreenRun(counts, reports, elapsed, memory.peak_mib)


def _locally(
    files: list[Path],
    fmt: str,
    model: Path | None,
    output: ScreenOutput,
    options: EngineOptions,
    reports: list[LoadReport],
) -> ScreenCounts:
    from detectors.screening.local_engine import plan, screen_locally

    local = plan(files, options.shard_bytes, options.workers, options.threads)
    model_path = str(model.resolve()) if model else None
    return screen_locally(files, fmt, model_path, output, local, options.batch_size, reports)


def _on_ray(
    files: list[Path],
    fmt: str,
    model: Path | None,
    output: ScreenOutput,
    options: EngineOptions,
    reports: list[LoadReport],
) -> ScreenCounts:
    import os

    from detectors.screening.ray_engine import connect, screen_on_ray

    connect(options.address)
    workers = options.workers or RAY_DEFAULT_WORKERS
    threads = options.threads or max(1, (os.cpu_count() or 1) // workers)
    model_path = str(model.resolve()) if model else None
    return screen_on_ray(
        files,
        fmt,
        model_path,
        output,
        workers,
        options.batch_size,
        threads,
        options.shard_bytes,
        reports,
    )
