"""Wire models of the HTTP API: `XRequest` / `XResponse` pairs and the one error envelope."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.verdict import FraudType, RiskAction, Verdict

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
"""Alert and case ids: 1–128 characters, letters, digits and `._:-`."""
AlertId = Field(pattern=ID_PATTERN, examples=["alert-000123"])


class ErrorBody(BaseModel):
    code: str
    """Machine-readable: `unauthorized`, `forbidden`, `not_found`, `malformed_json`,
    `invalid_request`, `limit_exceeded`, `payload_too_large`, `internal_error`, ..."""
    message: str
    """What went wrong, with the numbers that explain it."""
    details: list[dict[str, Any]] | None = None
    """Per-field problems for `invalid_request`."""


class ErrorEnvelope(BaseModel):
    """Every 4xx and 5xx response has this body."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Malformed JSON (with its position)"),
        (401, "Missing or unknown API key"),
        (403, "The key lacks the scope this route needs"),
        (404, "No such alert, case or job"),
        (413, "Request body larger than the limit"),
        (422, "Invalid request, or a limit on events/alerts exceeded"),
        (500, "Internal error"),
        (503, "The model server is unavailable, or the service is not ready"),
    )
}
"""Declared on every route, so the OpenAPI schema documents the envelope."""


class EventRecord(BaseModel):
    """One behaviour event in the FORMATS.md §1 format; keys it does not define pass through."""

    model_config = ConfigDict(extra="allow")

    user_id: str = Field(min_length=1, max_length=256)
    ts: str | float = Field(examples=["2026-03-02T14:01:55Z"])
    """ISO 8601 with offset or `Z`, or Unix seconds."""
    action: str = Field(min_length=1, max_length=128, examples=["login"])
    session_id: str | None = None
    item_id: str | None = None
    category: str | None = None
    amount: float | None = None
    currency: str | None = None
    quantity: int | None = Field(default=None, ge=0)
    status: str | None = None
    device_id: str | None = None
    ip: str | None = None
    country: str | None = None
    user_agent: str | None = None
    payment_method: str | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    text: str | None = None
    attrs: dict[str, Any] | None = None


# --- screening ---


class ScreenRequest(BaseModel):
    events: list[EventRecord] = Field(min_length=1)
    """Events of one or many users; grouped into one sequence per user."""
    top_k: int = Field(default=5, ge=0, le=50)
    """How many of each user's most surprising events to return."""


class SurprisingEvent(BaseModel):
    event_id: str
    """`e<index>` in the user's time-ordered, deduplicated sequence."""
    action: str
    ts: str
    token: str
    nll: float
    """Negative log-likelihood under the detector (higher = more surprising)."""
    rank: int


class SequenceResult(BaseModel):
    user_id: str
    events: int
    score: float
    """Higher = more anomalous."""
    flagged: bool
    top_events: list[SurprisingEvent]


class ScreenResponse(BaseModel):
    detector_version: str
    results: list[SequenceResult]


# --- alerts and jobs ---


class AlertRequest(BaseModel):
    alert_id: str = AlertId
    """The caller's id; a repeat returns the stored verdict."""
    events: list[EventRecord] | None = None
    """The user's sequence; all events must share one user_id."""
    user_id: str | None = Field(default=None, min_length=1, max_length=256)
    """Instead of events: reuse the events stored with this user's latest case."""


AlertStatus = Literal["pending", "done", "retry"]


class AlertResponse(BaseModel):
    alert_id: str
    case_id: str
    status: AlertStatus
    """`pending`: being worked on; `done`; `retry`: the model gave no answer; asked again later."""
    reason: str | None = None
    """With `retry`: why the model gave no answer (unreachable, timed out)."""
    verdict: Verdict | None = None


class BatchRequest(BaseModel):
    alerts: list[AlertRequest] = Field(min_length=1)


JobStatus = Literal["running", "done"]


class JobResponse(BaseModel):
    job_id: str
    status: JobStatus
    total: int
    finished: int
    """Alerts whose status is no longer `pending`."""
    results: list[AlertResponse]


# --- cases ---


class MessageRequest(BaseModel):
    content: str = Field(min_length=1, max_length=4000)


class CaseMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    actor: str
    created_at: float
    prompt_version: str | None = None
    """The case-chat prompt version that produced an assistant answer."""


class AuditEntry(BaseModel):
    at: float
    actor: str
    """Name of the API key that made the change (`system` for the service itself)."""
    action: str
    subject: str
    detail: dict[str, Any]


class FeedbackRequest(BaseModel):
    fraud_type: FraudType
    action: RiskAction
    """The action the analyst took."""
    note: str | None = Field(default=None, max_length=2000)


class FeedbackResponse(BaseModel):
    case_id: str
    fraud_type: FraudType
    action: RiskAction
    note: str | None
    actor: str
    created_at: float
    library_version: str | None = None
    """The agent's few-shot library once this label joined it (the next verdicts retrieve it)."""


class CaseResponse(BaseModel):
    case_id: str
    user_id: str
    status: AlertStatus
    events: list[dict[str, Any]]
    """FORMATS.md event records, time-ordered; `e<i>` is the i-th."""
    verdict: Verdict | None
    messages: list[CaseMessage]
    feedback: list[FeedbackResponse]
    audit: list[AuditEntry]
    thread_turns: int
    """Messages in the case's persisted agent thread (questions and answers)."""


# --- health ---


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadyResponse(BaseModel):
    status: Literal["ready"]
    detector_version: str
    model_server: str
    """The model server's base URL that answered."""


# --- approvals ---


class ApprovalRequest(BaseModel):
    """An analyst's answer to a verdict whose severe action awaits approval."""

    approved: bool
    note: str | None = Field(default=None, max_length=2000)
    action_if_rejected: RiskAction = "manual_review"
    """The action that replaces a rejected one."""


class ApprovalResponse(BaseModel):
    case_id: str
    approved: bool
    actor: str
    """Name of the API key that decided."""
    verdict: Verdict
    """The finished verdict: the approved action, or `action_if_rejected`."""
