"""`fraudlens investigate`: screen a file, send the flagged users to the agent, write verdicts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from detectors.cli_input import FormatOption, load_detector_or_exit, load_or_exit

if TYPE_CHECKING:
    from agent.context import Screener
    from agent.investigator import FlaggedCase
    from agent.settings import Settings
    from agent.verdict import Verdict

SAMPLE_EVENTS = (
    Path(__file__).resolve().parent.parent / "evals" / "datasets" / "sample_events_v1.jsonl"
)
"""The bundled sample, investigated when no file is given."""
REASON_CHARS = 70


def _reason(verdict: Verdict) -> str:
    text = verdict.fallback_reason or verdict.explanation
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def verdict_table(verdicts: list[Verdict]) -> str:
    """One row per verdict, highest detector score first."""
    rows = [("user", "score", "type", "action", "reason")]
    for verdict in sorted(verdicts, key=lambda v: (-v.detector_score, v.user_id)):
        action = verdict.action + ("*" if verdict.policy_notes else "")
        rows.append(
            (
                verdict.user_id,
                f"{verdict.detector_score:.3f}",
                verdict.fraud_type,
                action,
                _reason(verdict),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[4]
        for row in rows
    ]
    return "\n".join(lines)


def investigate(
    file: Annotated[
        Path | None,
        typer.Argument(help="Events or cases to investigate; default: the bundled sample."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Detector folder; default: settings, else the bundled one."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="JSONL with one verdict per flagged user.")
    ] = Path("verdicts.jsonl"),
    fmt: FormatOption = "jsonl",
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-k",
            help="Users investigated at once; default: settings, else chosen from measured speed.",
        ),
    ] = None,
) -> None:
    """Screen FILE with the detector and explain every flagged user with the LLM agent."""
    from agent.settings import get_settings

    settings = get_settings()
    if concurrency is not None and concurrency < 1:
        raise typer.BadParameter(f"must be ≥ 1, got {concurrency}", param_hint="--concurrency")
    if file is None:
        if not SAMPLE_EVENTS.is_file():
            raise typer.BadParameter(
                f"the bundled sample {SAMPLE_EVENTS} is missing; pass a FILE", param_hint="FILE"
            )
        file = SAMPLE_EVENTS
    loaded = load_or_exit(file, fmt)
    detector = load_detector_or_exit(model or settings.detector_dir)
    scores = detector.explain(loaded.sequences)
    case_ids = loaded.case_ids or [sequence.user_id for sequence in loaded.sequences]
    from agent.investigator import flagged_in_batch

    cases = flagged_in_batch(case_ids, loaded.sequences, scores)
    typer.echo(
        f"{file}: {len(scores)} users screened by {detector.version}, {len(cases)} flagged "
        f"({len(cases) / len(scores):.1%})",
        err=True,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    if not cases:
        output.write_text("", encoding="utf-8")
        typer.echo(f"nothing flagged; wrote an empty {output}", err=True)
        return
    verdicts = _investigate(settings, detector, cases, concurrency, output)
    typer.echo(verdict_table(verdicts))
    _summarize(verdicts, output)


def _investigate(
    settings: Settings,
    detector: Screener,
    cases: list[FlaggedCase],
    concurrency: int | None,
    output: Path,
) -> list[Verdict]:
    """The verdicts, each written to `output` as it arrives; exits 1 when the model server died
    for good (the verdicts already written are kept). `concurrency` None: the served settings'."""
    import asyncio

    from agent.investigator import Investigated, Investigator
    from agent.llm.client import OpenAIChatModel
    from agent.llm.endpoint import ModelServerDown, serve_model

    started = time.perf_counter()
    with output.open("w", encoding="utf-8") as out, serve_model(settings) as served:
        workers = concurrency or served.settings.concurrency
        chat = OpenAIChatModel.from_settings(served.settings)
        investigator = Investigator(served.settings, chat, detector)
        case_s = None
        if served.speed is not None:
            prompt, answer = settings.llm_typical_prompt_tokens, settings.llm_typical_answer_tokens
            case_s = served.speed.seconds_per_case(prompt, answer, workers)
            typer.echo(
                f"{len(cases)} cases, {workers} at once: about {len(cases) * case_s / 60:.0f} min",
                err=True,
            )

        def write(result: Investigated) -> None:
            out.write(result.verdict.model_dump_json() + "\n")
            out.flush()

        async def run() -> list[Investigated]:
            try:
                return await investigator.investigate_many(
                    cases, workers, on_result=write, supervisor=served, seconds_per_case=case_s
                )
            finally:
                await chat.aclose()

        try:
            results = asyncio.run(run())
        except ModelServerDown as error:
            typer.echo(f"error: {error}; the verdicts finished so far are in {output}", err=True)
            raise typer.Exit(1) from None
    reused = sum(result.reused for result in results)
    typer.echo(
        f"{len(results)} cases in {time.perf_counter() - started:.1f} s; model {chat.name}, "
        f"prompt {investigator.context.prompt.version}",
        err=True,
    )
    if reused:
        typer.echo(
            f"{reused} of them were already decided in {settings.checkpoint_db} and not asked "
            "again (delete that file, or set FRAUDLENS_CHECKPOINT_DB, for fresh verdicts)",
            err=True,
        )
    return [result.verdict for result in results]


def _summarize(verdicts: list[Verdict], output: Path) -> None:
    """How many verdicts came from the model; exit 1 when none did (a run of only fallbacks
    is a failed run, whatever else went right)."""
    fallbacks = sum(verdict.is_fallback for verdict in verdicts)
    changed = sum(bool(verdict.policy_notes) for verdict in verdicts)
    typer.echo(
        f"{len(verdicts) - fallbacks} model verdicts, {fallbacks} fallbacks, {changed} changed "
        f"by the policy (marked *), written to {output}",
        err=True,
    )
    if fallbacks == len(verdicts):
        reasons = sorted({str(verdict.fallback_reason) for verdict in verdicts})
        typer.echo(f"error: every verdict is a fallback: {'; '.join(reasons[:3])}", err=True)
        raise typer.Exit(1)
