"""The analyst's view of a case (events, verdict, messages, feedback, audit) and labels."""

from __future__ import annotations

from collections.abc import Callable

from agent.api.chat_service import CaseChat
from agent.api.errors import ApiError
from agent.api.protocol import (
    AuditEntry,
    CaseMessage,
    CaseResponse,
    FeedbackRequest,
    FeedbackResponse,
)
from agent.api.store import Store
from agent.verdict import Verdict
from detectors.cases import Case
from detectors.events import parse_event

Learn = Callable[[Case], str]
"""Joins a labelled case to the agent's few-shot library; returns the library's version."""


def labelled_case(store: Store, case_id: str) -> Case | None:
    """A stored case with its latest label, in the FORMATS.md case format (None: no label)."""
    stored = store.get_case(case_id)
    labels = store.feedback_of(case_id)
    if stored is None or not labels:
        return None
    label = labels[-1]
    return Case(
        case_id=case_id,
        fraud_type=label["fraud_type"],
        acceptable_actions=[label["action"]],
        events=[parse_event(record) for record in stored.events],
        notes=label["note"],
        extra={"labelled_by": label["actor"], "labelled_at": label["created_at"]},
    )


def replay_labels(store: Store, learn: Learn) -> str | None:
    """Every labelled case of the store joins the library (at start-up: labels survive
    restarts); returns the library's version, None when nothing was labelled."""
    version = None
    for case_id in store.labelled_case_ids():
        case = labelled_case(store, case_id)
        if case is not None:
            version = learn(case)
    return version


class CaseService:
    """What /v1/cases/{id} and its feedback do; the conversation itself is `CaseChat`."""

    def __init__(self, store: Store, chat: CaseChat, learn: Learn | None = None) -> None:
        self.store = store
        self.chat = chat
        self.learn = learn

    async def case_view(self, case_id: str) -> CaseResponse:
        case = self.store.get_case(case_id)
        alert = self.store.get_alert(case_id)
        if case is None or alert is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        stored = self.store.get_verdict(case_id)
        return CaseResponse(
            case_id=case_id,
            user_id=case.user_id,
            status=alert.status,  # type: ignore[arg-type]
            events=case.events,
            verdict=Verdict.model_validate(stored) if stored is not None else None,
            messages=[CaseMessage.model_validate(m) for m in self.store.messages_of(case_id)],
            feedback=[
                FeedbackResponse(case_id=case_id, **entry)
                for entry in self.store.feedback_of(case_id)
            ],
            audit=[AuditEntry.model_validate(entry) for entry in self.store.audit_of(case_id)],
            thread_turns=len(await self.chat.thread_history(case_id)),
        )

    def add_feedback(self, case_id: str, request: FeedbackRequest, actor: str) -> FeedbackResponse:
        if self.store.get_case(case_id) is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        created_at = self.store.add_feedback(
            case_id, request.fraud_type, request.action, request.note, actor
        )
        case = labelled_case(self.store, case_id)
        version = self.learn(case) if self.learn is not None and case is not None else None
        return FeedbackResponse(
            case_id=case_id,
            fraud_type=request.fraud_type,
            action=request.action,
            note=request.note,
            actor=actor,
            created_at=created_at,
            library_version=version,
        )
