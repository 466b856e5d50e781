"""What every command that reads events shares: the --format option and loading with a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.sequence_files import LOADER_FORMATS

if TYPE_CHECKING:
    from detectors.detector import LSTMDetector
    from detectors.sequence_files import LoadedSequences

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help=f"Input format: {', '.join(LOADER_FORMATS)}.")
]


def check_format(fmt: str) -> None:
    """A usage error naming the known formats when `fmt` is not one of them."""
    if fmt not in LOADER_FORMATS:
        known = ", ".join(LOADER_FORMATS)
        raise typer.BadParameter(f"{fmt!r} is not one of {known}", param_hint="--format")


def load_or_exit(path: Path, fmt: str, with_labels: bool = False) -> LoadedSequences:
    """The file's sequences; rejected lines are reported on stderr, and no usable event exits 2."""
    from detectors.sequence_files import load_sequences

    check_format(fmt)
    if not path.is_file():
        raise typer.BadParameter(f"file not found: {path}", param_hint="FILE")
    try:
        loaded = load_sequences(path, fmt, with_labels)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="FILE") from None
    loaded.report.print_to(sys.stderr, max_problems=5)
    if not loaded.sequences:
        typer.echo(
            f"error: {path} has 0 usable events (rejected {loaded.report.rejected})", err=True
        )
        raise typer.Exit(2)
    return loaded


def load_detector_or_exit(model: Path | None) -> LSTMDetector:
    """The detector in `model` (default: settings' or the bundled one), or a usage error."""
    from detectors.detector import load_detector

    try:
        return load_detector(model)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
