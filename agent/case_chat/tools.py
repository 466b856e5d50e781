"""The case chat's tools: deterministic views of one case (timeline, reasons, verdict, similar
cases, rescoring without chosen events), each returning text for the model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from agent.fewshot import SimilarCase
from agent.render.case import render_case
from agent.render.facts import event_id
from agent.similarity import cosine
from detectors.events import parse_event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

ToolName = Literal[
    "timeline", "detector_reasons", "current_verdict", "similar_cases", "rescore_without"
]
DEFAULT_TOOLS: tuple[ToolName, ...] = ("timeline", "detector_reasons", "current_verdict")
"""Run when the model cannot choose (unreachable, or an unusable answer)."""
MAX_TOOLS = 3
SIMILAR_CASES_SHOWN = 3
SIMILAR_CASES_SEARCHED = 200
"""Most recent stored cases compared against; bounds the rescoring work per question."""

Scorer = Callable[[list[Sequence]], Awaitable[list[SequenceScore]]]
ReferenceFinder = Callable[[Sequence, SequenceScore], list[SimilarCase]]
"""The agent's labelled reference cases nearest to a sequence (Investigator.similar_cases)."""


class ToolCall(BaseModel):
    name: ToolName
    event_ids: list[str] = Field(default_factory=list, max_length=50)
    """For `rescore_without`: the events to remove, e.g. ["e3", "e4"]."""


class ToolChoice(BaseModel):
    """What the model returns when asked which tools to run (structured output)."""

    tools: list[ToolCall] = Field(min_length=1, max_length=MAX_TOOLS)


class StoredCase(Protocol):
    """A stored case's user and its events as FORMATS.md records."""

    user_id: str
    events: list[dict[str, Any]]


class CaseLookup(Protocol):
    """What the tools read about stored cases (agent.api.store.Store fits)."""

    def get_case(self, case_id: str) -> StoredCase | None: ...

    def recent_case_ids(self, limit: int) -> list[str]: ...

    def get_verdict(self, case_id: str) -> dict[str, Any] | None: ...

    def feedback_of(self, case_id: str) -> list[dict[str, Any]]: ...


@dataclass(slots=True)
class CaseMaterial:
    """One case as the tools see it."""

    case_id: str
    sequence: Sequence
    score: SequenceScore
    store: CaseLookup
    rescore: Scorer
    references: ReferenceFinder | None = None


def load_case_sequence(store: CaseLookup, case_id: str) -> Sequence | None:
    case = store.get_case(case_id)
    if case is None:
        return None
    return Sequence(case.user_id, [parse_event(record) for record in case.events])


async def run_tool(call: ToolCall, case: CaseMaterial) -> str:
    """The tool's result as text headed by its name."""
    if call.name == "timeline":
        body = render_case(case.sequence, case.score).text
    elif call.name == "detector_reasons":
        body = detector_reasons(case.sequence, case.score)
    elif call.name == "current_verdict":
        body = current_verdict(case.store, case.case_id)
    elif call.name == "similar_cases":
        body = await similar_cases(case)
    else:
        body = await rescore_without(case, call.event_ids)
    return f"## {call.name}\n{body}"


def detector_reasons(sequence: Sequence, score: SequenceScore) -> str:
    flag = "flagged" if score.flagged else "not flagged"
    lines = [f"detector score {score.score:.3f} ({flag}); most surprising events:"]
    for surprise in score.top_events(5):
        event = sequence.events[surprise.index]
        lines.append(
            f"- {event_id(surprise.index)} {event.action}: surprise {surprise.nll:.2f} nats, "
            f"the model ranked it #{surprise.rank} among possible next events"
        )
    if score.fraud_type_probs:
        top = sorted(score.fraud_type_probs.items(), key=lambda item: item[1], reverse=True)[:3]
        lines.append("detector type guess: " + ", ".join(f"{k} {p:.2f}" for k, p in top))
    return "\n".join(lines)


def current_verdict(store: CaseLookup, case_id: str) -> str:
    verdict = store.get_verdict(case_id)
    lines = []
    if verdict is None:
        lines.append("no verdict yet")
    else:
        lines.append(
            f"verdict: fraud_type {verdict['fraud_type']}, action {verdict['action']} "
            f"(proposed {verdict.get('proposed_action')}), confidence {verdict['confidence']:.2f}"
        )
        lines.append(f"explanation: {verdict['explanation']}")
        lines.append(f"evidence: {', '.join(verdict['evidence']) or 'none'}")
        if verdict.get("policy_notes"):
            lines.append(f"policy notes: {'; '.join(verdict['policy_notes'])}")
        if verdict.get("fallback_reason"):
            lines.append(f"this is a fallback verdict: {verdict['fallback_reason']}")
    for label in store.feedback_of(case_id):
        lines.append(f"analyst label: {label['fraud_type']}, action taken {label['action']}")
    return "\n".join(lines)


async def similar_cases(case: CaseMaterial) -> str:
    """Labelled reference cases, then past stored cases, nearest by the detector's view."""
    lines = []
    if case.references is not None:
        for similar in case.references(case.sequence, case.score):
            example = similar.example.case
            lines.append(
                f"- labelled reference {example.case_id}: {example.fraud_type}, acceptable "
                f"{', '.join(example.acceptable_actions)} (similarity {similar.similarity:.2f})"
            )
    lines += await _similar_stored_cases(case)
    return "\n".join(lines) or "no cases to compare with"


async def nearest_stored_cases(
    store: CaseLookup,
    case_id: str,
    score: SequenceScore,
    rescore: Scorer,
    searched: int = SIMILAR_CASES_SEARCHED,
    shown: int = SIMILAR_CASES_SHOWN,
) -> list[tuple[float, str]]:
    """(similarity, case id) of the past stored cases nearest to this one, nearest first."""
    others = [
        (other_id, sequence)
        for other_id in store.recent_case_ids(searched)
        if other_id != case_id and (sequence := load_case_sequence(store, other_id)) is not None
    ]
    if not others or score.embedding is None:
        return []
    scores = await rescore([sequence for _, sequence in others])
    return sorted(
        (
            (cosine(score.embedding, other.embedding), other_id)
            for (other_id, _), other in zip(others, scores, strict=True)
            if other.embedding is not None
        ),
        reverse=True,
    )[:shown]


def stored_case_summary(store: CaseLookup, case_id: str) -> str:
    """A past case's verdict and latest analyst label, in one line."""
    verdict = store.get_verdict(case_id)
    labels = store.feedback_of(case_id)
    said = f"verdict {verdict['fraud_type']}/{verdict['action']}" if verdict else "no verdict"
    return said + (f"; analyst label {labels[-1]['fraud_type']}" if labels else "")


async def _similar_stored_cases(case: CaseMaterial) -> list[str]:
    ranked = await nearest_stored_cases(case.store, case.case_id, case.score, case.rescore)
    return [
        f"- past case {case_id}: similarity {similarity:.2f}, "
        f"{stored_case_summary(case.store, case_id)}"
        for similarity, case_id in ranked
    ]


async def rescore_without(case: CaseMaterial, event_ids: list[str]) -> str:
    known = {event_id(index) for index in range(len(case.sequence.events))}
    unknown = [name for name in event_ids if name not in known]
    removed = [name for name in event_ids if name in known]
    if not removed:
        return f"no event to remove: {event_ids or 'none given'}; ids run e0–e{len(known) - 1}"
    kept = [
        event
        for index, event in enumerate(case.sequence.events)
        if event_id(index) not in set(removed)
    ]
    if not kept:
        return "removing every event leaves nothing to score"
    [score] = await case.rescore([Sequence(case.sequence.user_id, kept)])
    flag = "flagged" if score.flagged else "not flagged"
    lines = [
        f"without {', '.join(removed)}: score {score.score:.3f} ({flag}), "
        f"was {case.score.score:.3f} with all {len(case.sequence.events)} events"
    ]
    if unknown:
        lines.append(f"ignored unknown ids: {', '.join(unknown)}")
    return "\n".join(lines)


def tool_choice_schema() -> dict[str, Any]:
    return ToolChoice.model_json_schema()
