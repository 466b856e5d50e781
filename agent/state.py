"""The investigation graph's state: what goes in, what each node adds, what comes out."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.linked_accounts import LinkedAccounts
from agent.llm.client import ChatMessage
from agent.render.case import RenderedCase
from agent.verdict import FraudType, ModelAnswer, RiskAction, Verdict
from detectors.scores import SequenceScore
from detectors.sequences import Sequence


@dataclass(kw_only=True)
class InputState:
    """What a caller gives to investigate one case."""

    case_id: str
    """The thread id: one case, one checkpointed investigation."""
    sequence: Sequence
    """The user's time-ordered, deduplicated events; event ids are positions in it."""
    score: SequenceScore | None = None
    """The detector's output; None makes the graph screen the sequence first."""
    links: LinkedAccounts | None = None
    """What the user shares with the other accounts of the batch it was screened in (shown by
    prompts with `linked_accounts`); None: screened alone."""
    fingerprint: str = ""
    """Identifies the input and the model/prompt; a stored result for another one is not reused."""


@dataclass(frozen=True, slots=True)
class SimilarCaseRef:
    """A few-shot example chosen for this case."""

    case_id: str
    fraud_type: str
    similarity: float


@dataclass(kw_only=True)
class State(InputState):
    """Everything the nodes read and write."""

    started_at: float = 0.0
    """Clock time when the investigation started (for `latency_s`)."""
    rendered: RenderedCase | None = None
    """The case as the model reads it."""
    similar: list[SimilarCaseRef] = field(default_factory=list)
    """Few-shot examples chosen by similarity, most similar first."""
    messages: list[ChatMessage] = field(default_factory=list)
    """The conversation with the model so far (grows by a retry turn when an answer fails)."""
    answer: ModelAnswer | None = None
    """The model's latest schema-valid answer."""
    problems: list[str] = field(default_factory=list)
    """Why the latest answer is not acceptable (validation or grounding); empty when it is."""
    answers_checked: int = 0
    """Answers checked so far; a failed answer is retried once."""
    fallback_reason: str | None = None
    """Set when no acceptable answer was had: the verdict falls back to `manual_review`."""
    refuted_types: list[FraudType] = field(default_factory=list)
    """The types the pattern check sent back in this run (prompts with `retry_without_refuted`
    close them in the retry's schema)."""
    refuted_type: FraudType | None = None
    """On a fallback (prompts with `clear_refuted`): the type the last answer named, which the
    case's events rule out, when the case shows no type's whole pattern; the fallback then
    proposes the policy's `refuted_fallback` for type `none`."""
    action: RiskAction | None = None
    """The action after the risk policy (and after the analyst, when asked)."""
    policy_notes: list[str] = field(default_factory=list)
    """Every change the policy or the analyst made to the action."""
    needs_approval: bool = False
    """The action is one that settings.require_approval_for holds for an analyst."""
    llm_calls: int = 0
    """Requests sent to the model, retries included."""
    prompt_tokens: int = 0
    """Summed over all requests, as the server counted them."""
    completion_tokens: int = 0
    """Summed over all requests, as the server counted them."""
    verdict: Verdict | None = None
    """The result, set by the last node."""


def run_defaults() -> dict[str, Any]:
    """Every non-input State field at its default, so a new run on an old thread starts clean."""
    inputs = {item.name for item in fields(InputState)}
    return {
        item.name: item.default_factory() if item.default_factory is not MISSING else item.default
        for item in fields(State)
        if item.name not in inputs
    }


@dataclass(kw_only=True)
class OutputState:
    """What an investigation returns."""

    verdict: Verdict


class ApprovalDecision(BaseModel):
    """An analyst's answer to an approval interrupt (the value to resume the graph with)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    approved: bool
    analyst: str = "analyst"
    note: str | None = None
    action_if_rejected: RiskAction = "manual_review"
    """The action that replaces a rejected one."""
