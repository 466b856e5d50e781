"""`fraudlens screen`: score every user's sequence in a file and write the flagged ones."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from detectors.cli_input import FormatOption, check_format, load_detector_or_exit, load_or_exit

if TYPE_CHECKING:
    from detectors.scores import SequenceScore
    from detectors.sequences import Sequence


def _screen_record(
    result: SequenceScore, sequence: Sequence, case_id: str | None, top: int
) -> dict[str, Any]:
    from detectors.events import format_ts

    record: dict[str, Any] = {"user_id": result.user_id}
    if case_id is not None:
        record["case_id"] = case_id
    record.update(
        score=round(result.score, 6),
        flagged=result.flagged,
        n_events=len(sequence),
        top_events=[
            {
                "index": event.index,
                "ts": format_ts(sequence.events[event.index].ts),
                "action": sequence.events[event.index].action,
                "token": event.token,
                "nll": round(event.nll, 4),
                "rank": event.rank,
            }
            for event in result.top_events(top)
        ],
    )
    if result.fraud_type_probs is not None:
        record["fraud_type_probs"] = {k: round(v, 4) for k, v in result.fraud_type_probs.items()}
    return record


def screen(
    file: Annotated[Path, typer.Argument(help="Events or cases to screen.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL of users written.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector folder; default: the bundled model.")
    ] = None,
    fmt: FormatOption = "jsonl",
    top: Annotated[int, typer.Option(help="Most surprising events listed per user.")] = 5,
    all_users: Annotated[
        bool, typer.Option("--all", help="Write every user, not only the flagged ones.")
    ] = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads; default every core.")] = None,
) -> None:
    """Score every user's sequence; write the flagged ones with their most surprising events."""
    if top < 0:
        raise typer.BadParameter(f"--top must be ≥ 0, got {top}")
    from detectors.training import use_all_cores

    check_format(fmt)
    detector = load_detector_or_exit(model)
    use_all_cores(threads)
    started = time.perf_counter()
    loaded = load_or_exit(file, fmt)
    results = detector.explain(loaded.sequences)
    output.parent.mkdir(parents=True, exist_ok=True)
    case_ids: list[str | None] = [None] * len(results)
    if loaded.case_ids is not None:
        case_ids = list(loaded.case_ids)
    written = 0
    with output.open("w", encoding="utf-8") as out:
        for result, sequence, case_id in zip(results, loaded.sequences, case_ids, strict=True):
            if result.flagged or all_users:
                record = _screen_record(result, sequence, case_id, top)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    elapsed = time.perf_counter() - started
    events = sum(len(sequence) for sequence in loaded.sequences)
    flagged = sum(result.flagged for result in results)
    typer.echo(
        f"users {len(results)}  events {events}  flagged {flagged}  "
        f"rate {flagged / len(results):.2%}  rejected lines {loaded.report.rejected}  "
        f"{elapsed:.2f} s  {events / elapsed:,.0f} events/s  "
        f"model {detector.version}  wrote {written} to {output}"
    )
