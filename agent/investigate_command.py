"""`fraudlens investigate`: screen a file, send the flagged users to the agent, write verdicts."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from tqdm import tqdm

from agent.chat_model import OpenAIChatModel
from agent.investigator import Investigator
from agent.settings import Settings, get_settings
from agent.verdict import Verdict
from detectors.adapters import FORMAT_NAMES
from detectors.detector import LSTMDetector, load_detector
from detectors.scores import SequenceScore
from detectors.sequence_files import LoadedSequences, load_sequences
from detectors.sequences import Sequence

SAMPLE_EVENTS = (
    Path(__file__).resolve().parent.parent / "evals" / "datasets" / "sample_events_v1.jsonl"
)
"""The bundled sample, investigated when no file is given."""
REASON_CHARS = 70


def _load(file: Path, fmt: str) -> LoadedSequences:
    if fmt not in FORMAT_NAMES:
        raise typer.BadParameter(
            f"{fmt!r} is not one of {', '.join(FORMAT_NAMES)}", param_hint="--format"
        )
    if not file.is_file():
        raise typer.BadParameter(f"file not found: {file}", param_hint="FILE")
    try:
        loaded = load_sequences(file, fmt)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="FILE") from None
    loaded.report.print_to(sys.stderr, max_problems=5)
    if not loaded.sequences:
        typer.echo(f"error: {file} has 0 usable events", err=True)
        raise typer.Exit(2)
    return loaded


@contextmanager
def _chat_model(settings: Settings) -> Iterator[OpenAIChatModel]:
    """The configured endpoint, or a local vLLM server for settings.llm_model while in use."""
    with ExitStack() as stack:
        base_url = settings.llm_base_url
        if base_url is None:
            from agent.llm_server import LocalModelServer

            typer.echo(
                f"starting the local model server for {settings.llm_model} "
                "(FRAUDLENS_LLM_BASE_URL is unset; the first run pulls the weights)…",
                err=True,
            )
            base_url = stack.enter_context(LocalModelServer(settings)).base_url
        yield OpenAIChatModel.from_settings(settings, base_url=base_url)


def failed_verdict(
    case_id: str, score: SequenceScore, error: BaseException, investigator: Investigator
) -> Verdict:
    """Kept in the output when an investigation itself failed: no flagged user is ever lost."""
    reason = f"investigation failed: {type(error).__name__}: {error}"
    context = investigator.context
    return Verdict(
        case_id=case_id,
        user_id=score.user_id,
        detector_score=score.score,
        flagged=score.flagged,
        fraud_type="none",
        confidence=0.0,
        explanation=f"No model verdict ({reason}); sent to manual review.",
        evidence=[],
        action="manual_review",
        proposed_action=None,
        model=context.chat.name,
        prompt_version=context.prompt.version,
        detector_version=context.detector_version,
        fallback_reason=reason,
    )


async def investigate_all(
    investigator: Investigator,
    cases: list[tuple[str, Sequence, SequenceScore]],
    concurrency: int,
    out: TextIO,
    progress: bool = True,
) -> list[Verdict]:
    """Investigate with at most `concurrency` at once; each verdict is written as it arrives."""
    slots = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(cases), desc="investigate", unit="user", disable=not progress)

    async def one(case_id: str, sequence: Sequence, score: SequenceScore) -> Verdict:
        async with slots:
            try:
                verdict = await investigator.investigate(case_id, sequence, score)
            except Exception as error:  # a bug must not drop the alert; it is recorded
                verdict = failed_verdict(case_id, score, error, investigator)
        out.write(verdict.model_dump_json() + "\n")
        out.flush()
        bar.set_postfix(last=verdict.action, refresh=False)
        bar.update()
        return verdict

    try:
        return list(await asyncio.gather(*(one(*case) for case in cases)))
    finally:
        bar.close()


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
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"Input format: {', '.join(FORMAT_NAMES)}.")
    ] = "jsonl",
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-k", help="Users investigated at once; default: settings."),
    ] = None,
) -> None:
    """Screen FILE with the detector and explain every flagged user with the LLM agent."""
    settings = get_settings()
    workers = concurrency if concurrency is not None else settings.concurrency
    if workers < 1:
        raise typer.BadParameter(f"must be ≥ 1, got {workers}", param_hint="--concurrency")
    if file is None:
        if not SAMPLE_EVENTS.is_file():
            raise typer.BadParameter(
                f"the bundled sample {SAMPLE_EVENTS} is missing; pass a FILE", param_hint="FILE"
            )
        file = SAMPLE_EVENTS
    loaded = _load(file, fmt)
    try:
        detector: LSTMDetector = load_detector(model or settings.detector_dir)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
    scores = detector.explain(loaded.sequences)
    case_ids = loaded.case_ids or [sequence.user_id for sequence in loaded.sequences]
    cases = [
        (case_id, sequence, score)
        for case_id, sequence, score in zip(case_ids, loaded.sequences, scores, strict=True)
        if score.flagged
    ]
    typer.echo(
        f"{file}: {len(scores)} users screened by {detector.version}, {len(cases)} flagged "
        f"({len(cases) / len(scores):.1%})",
        err=True,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with output.open("w", encoding="utf-8") as out:
        if not cases:
            typer.echo(f"nothing flagged; wrote an empty {output}", err=True)
            return
        with _chat_model(settings) as chat:
            investigator = Investigator(settings, chat, detector)

            async def run() -> list[Verdict]:
                try:
                    return await investigate_all(investigator, cases, workers, out)
                finally:
                    await chat.aclose()

            verdicts = asyncio.run(run())
    elapsed = time.perf_counter() - started
    typer.echo(verdict_table(verdicts))
    fallbacks = sum(verdict.is_fallback for verdict in verdicts)
    changed = sum(bool(verdict.policy_notes) for verdict in verdicts)
    typer.echo(
        f"{len(verdicts)} verdicts in {elapsed:.1f} s ({fallbacks} fallback, "
        f"{changed} changed by the policy, marked *) written to {output}; model {chat.name}, "
        f"prompt {investigator.context.prompt.version}",
        err=True,
    )
