"""`fraudlens screen`: score every user's sequence in event files and write the flagged ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from detectors.cli_input import FormatOption, check_format, load_detector_or_exit

Engine = Literal["local", "ray"]


def screen(
    files: Annotated[
        list[Path], typer.Argument(help="Event or case files (or folders of them) to screen.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Users written: a .jsonl/.parquet file, else a folder of shards."
        ),
    ],
    flagged_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the flagged users with all their events (the `screened` format; "
            "from a case file, also a case file for eval run --cases / investigate -f cases): "
            "a .jsonl file, else a folder of shards."
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option(help="Shard format when --output is a folder: jsonl or parquet.")
    ] = "jsonl",
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector folder; default: the bundled model.")
    ] = None,
    fmt: FormatOption = "jsonl",
    top: Annotated[int, typer.Option(help="Most surprising events listed per user.")] = 5,
    all_users: Annotated[
        bool, typer.Option("--all", help="Write every user, not only the flagged ones.")
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help="local: this machine, bounded memory; ray: a Ray cluster.")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (auto, ray://host:10001); default: start one here."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="local: processes (default every core, one for inputs under 16 MB); "
            "ray: detector actors (default 2)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences scored per detector call.")] = 1024,
    shard_mb: Annotated[
        int, typer.Option(help="Local engine: input text (MB) per on-disk shard; bounds memory.")
    ] = 96,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads (per Ray worker); default every core (shared by workers)."),
    ] = None,
) -> None:
    """Score every user's sequence; write the flagged ones with their most surprising events."""
    if top < 0:
        raise typer.BadParameter(f"--top must be ≥ 0, got {top}")
    if (workers is not None and workers < 1) or batch_size < 1 or shard_mb < 1:
        raise typer.BadParameter(
            f"must be ≥ 1: workers {workers}, batch-size {batch_size}, shard-mb {shard_mb}"
        )
    check_format(fmt)
    from detectors.screening.input_files import expand_inputs
    from detectors.screening.run import EngineOptions, run_screen
    from detectors.screening.scoring import ScreenOutput
    from detectors.screening.writers import OUTPUT_FORMATS

    if output_format not in OUTPUT_FORMATS:
        known = ", ".join(OUTPUT_FORMATS)
        raise typer.BadParameter(
            f"{output_format!r} is not one of {known}", param_hint="--output-format"
        )
    inputs = expand_inputs(files)
    missing = [str(path) for path in inputs if not path.is_file()]
    if missing or not inputs:
        raise typer.BadParameter(
            f"file not found: {', '.join(missing) or files}", param_hint="FILES"
        )
    detector = load_detector_or_exit(model)
    options = EngineOptions(engine, workers, batch_size, shard_mb * 2**20, threads, address)
    destination = ScreenOutput(output, output_format, flagged_out, top, all_users)
    run = run_screen(inputs, fmt, model, destination, options)
    for report in run.reports:
        report.print_to(sys.stderr, max_problems=5)
    if run.counts.users == 0:
        names = ", ".join(str(path) for path in inputs)
        typer.echo(f"error: {names} has 0 usable events (rejected {run.rejected})", err=True)
        raise typer.Exit(2)
    counts = run.counts
    typer.echo(
        f"users {counts.users}  events {counts.events}  flagged {counts.flagged}  "
        f"rate {counts.flagged / counts.users:.2%}  rejected lines {run.rejected}  "
        f"{run.elapsed_s:.2f} s  {run.events_per_s:,.0f} events/s  "
        f"peak memory {run.peak_mib:,.0f} MiB  engine {engine}  "
        f"model {detector.version}  wrote {counts.written} to {output}"
    )
