"""The `screened` format: a flagged user's events with the screen's score, one per line."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from detectors.cases import parse_event_list
from detectors.events import Event, EventError

SCREENED_FORMAT = "screened"
"""The `--format` name that reads this file back (`investigate`, `eval run`)."""


@dataclass(slots=True)
class ScreenedUser:
    """One user (or case) a screen flagged, with every event it was scored on."""

    case_id: str
    """The input case's id, or the user id when the input was plain events."""
    user_id: str
    score: float
    flagged: bool
    events: list[Event]
    extra: dict[str, Any] = field(default_factory=dict)
    """Everything else the record carried (top_events, detector_version, ...), kept as is."""


_FIELDS = frozenset(("case_id", "user_id", "score", "flagged", "events"))


def parse_screened(record: Any) -> ScreenedUser:
    """Validate one decoded JSON record into a ScreenedUser; raise EventError naming the field."""
    if not isinstance(record, dict):
        raise EventError("<line>", f"expected a JSON object, got {type(record).__name__}")
    user_id = record.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise EventError("user_id", "required field is missing or not a string")
    case_id = record.get("case_id", user_id)
    if not isinstance(case_id, str) or not case_id:
        raise EventError("case_id", f"expected a non-empty string, got {case_id!r}")
    score = record.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise EventError("score", f"expected a finite number, got {score!r}")
    events = parse_event_list(record.get("events"))
    return ScreenedUser(
        case_id=case_id,
        user_id=user_id,
        score=float(score),
        flagged=bool(record.get("flagged", True)),
        events=events,
        extra={key: value for key, value in record.items() if key not in _FIELDS},
    )
