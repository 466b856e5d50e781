"""What `screen` writes per user, and per flagged user with its events (`screened` format)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detectors.events import format_ts
from detectors.sequences import Sequence

if TYPE_CHECKING:
    from detectors.detector import ScoredSequences


def user_record(
    scored: ScoredSequences, index: int, case_id: str | None, top: int
) -> dict[str, Any]:
    """Score, flag, event count and the `top` most surprising events of sequence `index` of
    `scored` (one user, or case)."""
    columns = scored.columns
    start = int(columns.offsets[index])
    times, actions = columns.numbers["ts"], columns.categories["action"]
    record: dict[str, Any] = {"user_id": scored.user_ids[index]}
    if case_id is not None:
        record["case_id"] = case_id
    record.update(
        score=round(float(scored.scores[index]), 6),
        flagged=bool(scored.flagged[index]),
        n_events=int(columns.lengths[index]),
        top_events=[
            {
                "index": event.index,
                "ts": format_ts(float(times[start + event.index])),
                "action": actions.values[actions.codes[start + event.index]],
                "token": event.token,
                "nll": round(event.nll, 4),
                "rank": event.rank,
            }
            for event in scored.top_events(index, top)
        ],
    )
    probs = scored.fraud_type_probs(index)
    if probs is not None:
        record["fraud_type_probs"] = {k: round(v, 4) for k, v in probs.items()}
    return record


def screened_record(
    user: dict[str, Any], sequence: Sequence, detector_version: str, case: dict[str, Any] | None
) -> dict[str, Any]:
    """A user record plus every event it was scored on: what `--format screened` reads.

    A screened case keeps its case record's fields (fraud_type, acceptable_actions, ...), so the
    file is also a FORMATS.md case file that `eval run --cases` reads."""
    return {
        "case_id": user["user_id"],
        **(case or {}),
        **user,
        "detector_version": detector_version,
        "events": [event.to_record() for event in sequence.events],
    }
