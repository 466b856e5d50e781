"""What the case page shows: facts, the timeline with the detector's marks, the verdict with its
evidence, similar cases, the conversation and every decision; computed here, rendered by Jinja2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.api.store import QueueRow, Store
from agent.api.ui.queue import QueueStatus, queue_status
from agent.case_chat.tools import (
    ReferenceFinder,
    Scorer,
    load_case_sequence,
    nearest_stored_cases,
    stored_case_summary,
)
from agent.render.facts import describe_facts, event_id
from agent.render.time_format import format_offset
from agent.render.untrusted_text import looks_like_instruction
from agent.verdict import Verdict
from detectors.events import Event, format_ts
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

SURPRISING_MARKED = 5
"""The detector's most surprising events marked in the timeline."""
PAST_CASES_SEARCHED = 50
"""Most recent stored cases compared with this one (one detector pass over them per view)."""
SIMILAR_SHOWN = 3
DETAIL_FIELDS = (
    "item_id",
    "category",
    "amount",
    "currency",
    "quantity",
    "status",
    "device_id",
    "ip",
    "country",
    "payment_method",
    "rating",
    "session_id",
    "user_agent",
)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    event_id: str
    ts: str
    offset: str
    """Time since the first event, e.g. `+2m10s`."""
    action: str
    details: list[tuple[str, str]]
    text: str | None
    """User-written text, untrusted: rendered escaped, never as markup."""
    instruction_like: bool
    """The text reads like an order to a model (a prompt-injection attempt)."""
    surprise_rank: int | None
    """1 = the detector's most surprising event; None when not among the marked ones."""
    nll: float | None
    cited: bool
    """The verdict cites this event as evidence."""


@dataclass(frozen=True, slots=True)
class SimilarCaseView:
    kind: str
    """`labelled reference` (the agent's few-shot library) or `past case` (this store)."""
    case_id: str
    similarity: float
    summary: str
    linked: bool
    """A past case has its own page."""


@dataclass(frozen=True, slots=True)
class AuditLine:
    at: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class CasePage:
    case_id: str
    user_id: str
    status: QueueStatus
    retry_reason: str | None
    facts: list[str]
    score: float
    flagged: bool
    verdict: Verdict | None
    evidence: list[tuple[str, bool]]
    """Each cited id and whether it exists in the timeline (it links when it does)."""
    timeline: list[TimelineEvent]
    similar: list[SimilarCaseView]
    messages: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    audit: list[AuditLine]


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _value(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _timeline_event(
    index: int, event: Event, first_ts: float, marks: dict[int, tuple[int, float]], cited: set[str]
) -> TimelineEvent:
    details = [
        (name, _value(value))
        for name in DETAIL_FIELDS
        if (value := getattr(event, name)) is not None
    ]
    details += [(f"attrs.{name}", _value(value)) for name, value in sorted(event.attrs.items())]
    rank, nll = marks.get(index, (None, None))
    return TimelineEvent(
        event_id=event_id(index),
        ts=format_ts(event.ts),
        offset=format_offset(event.ts - first_ts),
        action=event.action,
        details=details,
        text=event.text,
        instruction_like=event.text is not None and looks_like_instruction(event.text),
        surprise_rank=rank,
        nll=nll,
        cited=event_id(index) in cited,
    )


async def similar_cases(
    store: Store,
    case_id: str,
    sequence: Sequence,
    score: SequenceScore,
    rescore: Scorer,
    references: ReferenceFinder | None,
) -> list[SimilarCaseView]:
    """Labelled references the agent compares with, then the nearest past cases in the store."""
    views = []
    if references is not None:
        for found in references(sequence, score):
            case = found.example.case
            views.append(
                SimilarCaseView(
                    "labelled reference",
                    case.case_id,
                    found.similarity,
                    f"{case.fraud_type}; acceptable: {', '.join(case.acceptable_actions)}",
                    linked=False,
                )
            )
    ranked = await nearest_stored_cases(
        store, case_id, score, rescore, PAST_CASES_SEARCHED, SIMILAR_SHOWN
    )
    for similarity, other_id in ranked:
        summary = stored_case_summary(store, other_id)
        views.append(SimilarCaseView("past case", other_id, similarity, summary, linked=True))
    return views


async def build_case_page(
    store: Store, case_id: str, rescore: Scorer, references: ReferenceFinder | None
) -> CasePage | None:
    """Everything the case page shows, or None when there is no such case."""
    alert = store.get_alert(case_id)
    sequence = load_case_sequence(store, case_id)
    if alert is None or sequence is None or not sequence.events:
        return None
    [score] = await rescore([sequence])
    stored = store.get_verdict(case_id)
    verdict = Verdict.model_validate(stored) if stored is not None else None
    cited = set(verdict.evidence) if verdict is not None else set()
    marks = {
        surprise.index: (rank, surprise.nll)
        for rank, surprise in enumerate(score.top_events(SURPRISING_MARKED), start=1)
    }
    first_ts = sequence.events[0].ts
    timeline = [
        _timeline_event(index, event, first_ts, marks, cited)
        for index, event in enumerate(sequence.events)
    ]
    known = {event.event_id for event in timeline}
    row = QueueRow(
        alert.alert_id,
        case_id,
        sequence.user_id,
        alert.status,
        alert.reason,
        alert.created_at,
        alert.updated_at,
        stored,
    )
    return CasePage(
        case_id=case_id,
        user_id=sequence.user_id,
        status=queue_status(row),
        retry_reason=alert.reason,
        facts=describe_facts(sequence.events),
        score=score.score,
        flagged=score.flagged,
        verdict=verdict,
        evidence=[(name, name in known) for name in (verdict.evidence if verdict else [])],
        timeline=timeline,
        similar=await similar_cases(store, case_id, sequence, score, rescore, references),
        messages=store.messages_of(case_id),
        feedback=[
            {**entry, "at": _clock(entry["created_at"])} for entry in store.feedback_of(case_id)
        ],
        audit=[
            AuditLine(
                _clock(entry["at"]),
                entry["actor"],
                entry["action"],
                ", ".join(f"{k}: {v}" for k, v in entry["detail"].items() if v is not None),
            )
            for entry in store.audit_of(case_id)
        ],
    )
