"""`fraudlens recalibrate`: a trained detector's score calibrated on another traffic's
legitimate users, weights unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from detectors.cli_input import FormatOption, load_or_exit


def recalibrate(
    data: Annotated[
        Path, typer.Option("--data", help="Users of the traffic to screen (events or cases).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    fmt: FormatOption = "jsonl",
    labels: Annotated[
        bool,
        typer.Option(
            "--labels", help="Leave out the users labelled as fraud (cases); else all count."
        ),
    ] = False,
    model: Annotated[
        Path | None, typer.Option(help="Detector folder; default: the bundled model.")
    ] = None,
    target_flag_rate: Annotated[
        float | None,
        typer.Option(help="Flag budget on these users; default: the detector's own."),
    ] = None,
) -> None:
    """Calibrate a trained detector's signals and threshold on the legitimate users of the
    traffic it will screen, so that its flag budget holds there; the weights stay."""
    from detectors.baselines import legitimate_only
    from detectors.detector import load_detector

    loaded = load_or_exit(data, fmt, labels)
    try:
        detector = load_detector(model)
        legitimate = legitimate_only(loaded.sequences, loaded.labels)
        reference = f"{len(legitimate)} {'legitimate ' if labels else ''}users of {data.name}"
        fresh = detector.recalibrated(legitimate, reference, target_flag_rate)
    except (FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if not labels:
        typer.echo(
            "note: without --labels every user counts as legitimate; fraud among them makes "
            "its pattern look ordinary and lowers recall",
            err=True,
        )
    fresh.save(output)
    typer.echo(
        f"calibrated on {reference}: threshold {fresh.threshold_:.4f} flags "
        f"{fresh.calibration_flag_rate_:.1%} of them (budget {fresh.contamination:.0%}; "
        f"top-g {fresh.top_g_}); {detector.version} → {fresh.version}, saved to {output}"
    )
