"""The agent's verdict (FORMATS.md §5) and the narrower answer the model is asked to produce."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from detectors.cases import FraudType, RiskAction

EVENT_ID_PATTERN = r"^e[0-9]{1,6}$"
"""An event id as the rendered case numbers them. Bounded: a model that wants to write a range
(`e82–e143`), which the grammar refuses, otherwise runs on in digits until the token limit cuts
its answer (2 of 211 verdicts on sim_v3_holdout2, session 25)."""
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
MAX_EXPLANATION_CHARS = 480
MAX_EVIDENCE_IDS = 12


class ModelAnswer(BaseModel):
    """What the LLM must return: reasoning first, then the decision fields (order matters)."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    explanation: str = Field(min_length=1, max_length=MAX_EXPLANATION_CHARS)
    """A few sentences for a fraud analyst, citing event ids like e12."""
    evidence: list[EventId] = Field(max_length=MAX_EVIDENCE_IDS)
    """Ids of the events the explanation relies on."""
    fraud_type: FraudType
    """One value of the fraud taxonomy; `none` for legitimate behaviour."""
    confidence: float = Field(ge=0.0, le=1.0)
    """How sure the model is of fraud_type, 0–1."""
    action: RiskAction
    """The proposed risk action."""


class CitedEvidence(BaseModel):
    """The answer to the citing turn (prompts with `cite_prompt`): the events that show the
    type the model has already named."""

    model_config = ConfigDict(extra="forbid")

    evidence: list[EventId] = Field(min_length=1, max_length=MAX_EVIDENCE_IDS)


def answer_json_schema(
    max_explanation_chars: int | None = None,
    max_evidence: int | None = None,
    event_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON schema sent as structured output, so the server can only emit a ModelAnswer,
    optionally with a shorter explanation and fewer evidence ids than ModelAnswer allows (a
    prompt that asks for a short answer has the grammar hold the model to it), and with
    `event_ids` the evidence held to those ids (the case's own: an id past its end cannot be
    written)."""
    schema = ModelAnswer.model_json_schema()
    properties = schema["properties"]
    if event_ids is not None:
        properties["evidence"]["items"] = {"enum": list(event_ids)}
    if max_explanation_chars is not None:
        limit = min(max_explanation_chars, MAX_EXPLANATION_CHARS)
        properties["explanation"]["maxLength"] = limit
    if max_evidence is not None:
        properties["evidence"]["maxItems"] = min(max_evidence, MAX_EVIDENCE_IDS)
    return schema


class Verdict(BaseModel):
    """The agent's answer for one case, after grounding checks and the risk policy."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    case_id: str
    user_id: str
    detector_score: float
    """Higher = more anomalous."""
    flagged: bool
    """Whether the score crossed the detector's threshold."""
    fraud_type: FraudType
    confidence: float = Field(ge=0.0, le=1.0)
    explanation: str
    evidence: list[str]
    """Event ids (`e0`, `e1`, … in the time-ordered, deduplicated sequence); each one exists."""
    action: RiskAction
    """The final action, after the risk policy (and analyst approval, when required)."""
    proposed_action: RiskAction | None
    """What the model proposed before the policy; None when no valid model answer was had."""
    policy_notes: list[str] = Field(default_factory=list)
    """Why the policy (or a pending approval) changed the action; empty when it did not."""
    model: str
    prompt_version: str
    detector_version: str
    fallback_reason: str | None = None
    """Set when the verdict is the fallback (`manual_review`) rather than the model's answer."""
    refuted_type: FraudType | None = None
    """On a fallback (prompts with `clear_refuted`): the type its model last named, which the
    case's events rule out, on a case showing no type's whole pattern; such a fallback is typed
    `none` and proposes the policy's `refuted_fallback` instead of `manual_review`."""
    awaiting_approval: RiskAction | None = None
    """A severe action held for an analyst; `action` is `manual_review` until it is approved."""
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    """Wall time of the whole investigation, model calls included."""

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None
