"""`fraudlens bench screen`: events/s and peak memory, local (1 and 2 processes) vs Ray (1 and 2
workers)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.cli_input import FormatOption, check_format, load_detector_or_exit

if TYPE_CHECKING:
    from detectors.screening.run import EngineOptions, ScreenRun


def _load_average() -> str:
    return "/".join(f"{load:.1f}" for load in os.getloadavg())


def _scores(users_dir: Path) -> dict[str, tuple[float, bool]]:
    import json

    scores: dict[str, tuple[float, bool]] = {}
    for path in sorted(users_dir.glob("users-*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                key = record.get("case_id", record["user_id"])
                scores[key] = (record["score"], record["flagged"])
    return scores


def _counts(text: str, option: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r}", param_hint=option) from None
    if any(count < 1 for count in counts):
        raise typer.BadParameter(f"{text!r}: each ≥ 1", param_hint=option)
    return counts


def _parse_only(files: list[Path], fmt: str) -> tuple[int, float]:
    """Events and seconds to read and validate every line, no grouping or scoring."""
    from detectors.loading import LoadReport
    from detectors.screening.input_files import keyed_event_batches

    started = time.perf_counter()
    events = 0
    for path in files:
        events += sum(map(len, keyed_event_batches(path, fmt, LoadReport(str(path)), 0)))
    return events, time.perf_counter() - started


def bench_screen(
    files: Annotated[
        list[Path], typer.Argument(help="Event files (or folders), e.g. ≥ 5M simulated events.")
    ],
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector folder; default: the bundled model.")
    ] = None,
    fmt: FormatOption = "jsonl",
    local_workers: Annotated[
        str, typer.Option(help="Comma-separated local process counts; the first is the reference.")
    ] = "1,2",
    ray_workers: Annotated[
        str, typer.Option(help="Comma-separated Ray worker counts to run after the local ones.")
    ] = "1,2",
    batch_size: Annotated[int, typer.Option(help="Sequences scored per detector call.")] = 1024,
    shard_mb: Annotated[int, typer.Option(help="Local engine: input MB per shard.")] = 96,
    parse_only: Annotated[
        bool, typer.Option(help="Also time reading and validating alone (where time goes).")
    ] = True,
    stages: Annotated[
        bool,
        typer.Option(
            help="Also time each local stage on the first file: CPU seconds per 125k events, "
            "one process, one thread (meaningful on a busy machine)."
        ),
    ] = False,
    scratch: Annotated[
        Path | None, typer.Option(help="Folder for the runs' outputs; default a temporary one.")
    ] = None,
) -> None:
    """Screen the same files with each engine in one run; events/s, peak memory, same scores."""
    check_format(fmt)
    local_counts = _counts(local_workers, "--local-workers")
    ray_counts = _counts(ray_workers, "--ray-workers")
    if not local_counts:
        raise typer.BadParameter("at least one count", param_hint="--local-workers")
    from detectors.screening.input_files import expand_inputs
    from detectors.screening.run import EngineOptions, run_screen
    from detectors.screening.scoring import ScreenOutput

    inputs = expand_inputs(files)
    missing = [str(path) for path in inputs if not path.is_file()]
    if missing or not inputs:
        raise typer.BadParameter(f"not found: {', '.join(missing) or files}", param_hint="FILES")
    detector = load_detector_or_exit(model)
    size_mb = sum(path.stat().st_size for path in inputs) / 2**20
    typer.echo(
        f"{len(inputs)} files, {size_mb:,.0f} MB; model {detector.version}; "
        f"{os.cpu_count()} CPUs; load average before {_load_average()}"
    )
    del detector
    plans = [EngineOptions("local", count, batch_size, shard_mb * 2**20) for count in local_counts]
    plans += [EngineOptions("ray", count, batch_size) for count in ray_counts]
    folder = Path(scratch or tempfile.mkdtemp(prefix="fraudlens-bench-screen-"))
    typer.echo(
        f"{'engine':<10}{'workers':>8}{'events':>12}{'users':>9}{'seconds':>9}"
        f"{'events/s':>11}{'peak MiB':>10}  load avg 1/5/15 m after"
    )
    if parse_only:
        events, seconds = _parse_only(inputs, fmt)
        typer.echo(
            f"{'parse only':<10}{1:>8}{events:>12,}{'':>9}{seconds:>9.1f}"
            f"{events / seconds:>11,.0f}{'':>10}  {_load_average()}"
        )
    if stages:
        _print_stage_costs(inputs[0], fmt, model, batch_size)
    runs: list[tuple[EngineOptions, ScreenRun, Path]] = []
    for plan in plans:
        users_dir = folder / f"{plan.engine}-{plan.workers}"
        output = ScreenOutput(users_dir, "jsonl", None, top=5, all_users=True)
        run = run_screen(inputs, fmt, model, output, plan)
        runs.append((plan, run, users_dir))
        typer.echo(
            f"{plan.engine:<10}{plan.workers:>8}{run.counts.events:>12,}{run.counts.users:>9,}"
            f"{run.elapsed_s:>9.1f}{run.events_per_s:>11,.0f}{run.peak_mib:>10,.0f}"
            f"  {_load_average()}"
        )
    _compare(runs)
    typer.echo(f"outputs in {folder}")


def _print_stage_costs(path: Path, fmt: str, model: Path | None, batch_size: int) -> None:
    from detectors.screening.stage_costs import PER_EVENTS, measure_stages

    model_path = str(model.resolve()) if model else None
    costs = measure_stages(path, fmt, model_path, batch_size)
    parts = ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in costs.per_events().items())
    cores = os.cpu_count() or 1
    typer.echo(
        f"CPU s per {PER_EVENTS:,} events ({path.name}, {costs.events:,} events, one process, "
        f"one thread): {parts}; total {sum(costs.per_events().values()):.2f} = "
        f"{costs.events_per_cpu_s:,.0f} events/s per core, "
        f"{costs.events_per_cpu_s * cores:,.0f} on {cores} cores at best"
    )


def _compare(runs: list[tuple[EngineOptions, ScreenRun, Path]]) -> None:
    """Every engine's scores and flags against the local run's, and its speed relative to it."""
    _, local_run, local_dir = runs[0]
    reference = _scores(local_dir)
    for plan, run, users_dir in runs[1:]:
        scores = _scores(users_dir)
        shared = scores.keys() & reference.keys()
        flags = sum(scores[key][1] != reference[key][1] for key in shared)
        gap = max((abs(scores[key][0] - reference[key][0]) for key in shared), default=0.0)
        share = run.events_per_s / local_run.events_per_s
        typer.echo(
            f"{plan.engine} {plan.workers} workers vs local {runs[0][0].workers}: "
            f"{share:.0%} of its events/s; "
            f"users {len(scores)} vs {len(reference)}, {len(shared)} in both; "
            f"flags differ {flags}; largest score difference {gap:.1e}"
        )
