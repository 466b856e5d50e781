"""The `fraudlens` command: one CLI whose subcommands come from each package's command module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fraudlens",
    help="Screen e-commerce behaviour for fraud, explain flagged users with a local LLM, evaluate.",
    no_args_is_help=True,
    add_completion=False,
)


def _register_commands() -> None:
    # The CLI is the one composition root: it is the only place that sees every package.
    from detectors import commands as detector_commands

    detector_commands.register(app)


def main() -> None:
    _register_commands()
    app()
