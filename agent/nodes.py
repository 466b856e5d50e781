"""The investigation graph's nodes (verb_noun functions) and routers (`route_after_<node>`)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.claims_check import claim_problems
from agent.classify import AnswerAttempt, request_answer
from agent.context import Context
from agent.evidence_kinds import cited_events, cited_kind_problems, kind_problems
from agent.fallback import (
    detector_type_guess,
    fallback_explanation,
    refuted_explanation,
    shown_type_guess,
)
from agent.grounding import copied_text_problems, grounding_problems, without_opening
from agent.linked_accounts import LinkedAccounts
from agent.llm.client import ChatMessage
from agent.pattern_check import pattern_problems
from agent.pattern_shown import (
    naming_shown_patterns,
    none_problems,
    shown_patterns,
    the_one_shown,
)
from agent.policy import PolicyInput
from agent.prompting import FewShotExample, VerdictPrompt
from agent.render import case as render
from agent.render.case import RenderedCase
from agent.state import ApprovalDecision, SimilarCaseRef, State, run_defaults
from agent.verdict import CitedEvidence, FraudType, ModelAnswer, Verdict
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

MAX_ANSWERS = 2
"""An answer that fails validation or grounding is retried once, with the error, then falls back."""
MAX_ERROR_CHARS = 400
CITE_MAX_TOKENS = 96
"""Room for the citing turn's reply (12 ids at most): with the accepted answer and the citing
message it fits in what the case's token budget keeps for a retry turn and an answer."""


async def screen_sequence(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Start a clean run; score the sequence with the detector unless the caller already did."""
    update: dict[str, Any] = {**run_defaults(), "started_at": runtime.context.clock()}
    if state.score is None:
        screener = runtime.context.screener
        if screener is None:
            raise ValueError(
                f"case {state.case_id} has no detector score and no screener to score it"
            )
        scores = await asyncio.to_thread(screener.explain, [state.sequence])
        update["score"] = scores[0]
    return update


def shown_links(state: State, prompt: VerdictPrompt) -> LinkedAccounts | None:
    """The case's links to other accounts of its batch, for prompts that show them."""
    return state.links if prompt.linked_accounts else None


def render_case(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The sequence as compact text for the model (facts, then the timeline with event ids)."""
    context = runtime.context
    links = shown_links(state, context.prompt)
    rendered = render.render_case(state.sequence, state.score, context.render_options, links)
    return {"rendered": rendered}


def opening_messages(
    context: Context, sequence: Sequence, score: SequenceScore | None, rendered: RenderedCase
) -> tuple[list[SimilarCaseRef], list[ChatMessage]]:
    """The few-shot examples most similar to the case, and the first messages sent for it."""
    similar = context.library.similar(sequence, score, context.few_shot_k)
    examples = [
        FewShotExample(
            render.render_case(
                item.example.sequence, item.example.score, context.example_render_options
            ),
            item.example.answer,
        )
        for item in similar
    ]
    refs = [
        SimilarCaseRef(item.example.case.case_id, item.example.case.fraud_type, item.similarity)
        for item in similar
    ]
    return refs, context.prompt.messages(rendered, examples)


def retrieve_similar_cases(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pick few-shot examples by similarity and build the opening messages."""
    assert state.rendered is not None
    similar, messages = opening_messages(
        runtime.context, state.sequence, state.score, state.rendered
    )
    return {"similar": similar, "messages": messages}


async def classify_case(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the model for a schema-constrained answer (transport retries inside)."""
    context = runtime.context
    attempt = await request_answer(
        context.chat,
        state.messages,
        schema=context.prompt.answer_schema(state.sequence.events, state.refuted_types),
        max_tokens=context.max_tokens,
        max_retries=context.max_retries,
        retry_backoff_s=context.retry_backoff_s,
        parse=ModelAnswer,
    )
    update: dict[str, Any] = {
        "answer": attempt.answer,
        "problems": [attempt.error] if attempt.error else [],
        **_usage(state, attempt),
    }
    if attempt.unreachable:
        update["fallback_reason"] = attempt.error
    return update


def _usage(state: State, attempt: AnswerAttempt[Any]) -> dict[str, Any]:
    """The run's request and token counts with one more request's added."""
    return {
        "llm_calls": state.llm_calls + attempt.calls,
        "prompt_tokens": state.prompt_tokens + attempt.prompt_tokens,
        "completion_tokens": state.completion_tokens + attempt.completion_tokens,
    }


def check_grounding(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Cited events must exist, the explanation must state this case's facts, not restate the
    prompt, (prompts with `check_pattern`) the case must not rule out the type named and
    (`check_claims`) a fraud answer must not state events the case does not have; a failed
    answer is retried once with the error, then falls back (`accept_plain_none`: a second
    `none` answer in the prompt's words stands, unless (`check_none`) the case shows a type's
    whole pattern)."""
    if state.fallback_reason is not None:
        return {}
    assert state.rendered is not None
    problems = list(state.problems)
    checked = state.answers_checked + 1
    update: dict[str, Any] = {"answers_checked": checked}
    refuted: list[str] = []
    if state.answer is not None:
        prompt, answer, events = runtime.context.prompt, state.answer, state.sequence.events
        problems += grounding_problems(answer, state.rendered)
        plain_none_stands = (
            prompt.accept_plain_none and answer.fraud_type == "none" and checked >= MAX_ANSWERS
        )
        if not plain_none_stands:
            own_words = [
                m["content"] for m in state.messages if m["role"] in ("system", "assistant")
            ]
            problems += copied_text_problems(answer, own_words, state.rendered)
        if prompt.check_pattern:
            refuted = pattern_problems(
                answer.fraud_type,
                events,
                prompt.baseline_facts,
                prompt.extra_rules,
            )
            problems += refuted
            if refuted:
                update["refuted_types"] = [*state.refuted_types, answer.fraud_type]
        if prompt.check_claims:
            problems += claim_problems(answer.fraud_type, answer.explanation, events)
        if prompt.check_cited_kinds:
            problems += cited_kind_problems(answer.fraud_type, answer.evidence, events)
        if prompt.check_none:
            shown = shown_patterns(events, prompt.shown_extras, shown_links(state, prompt))
            problems += none_problems(answer.fraud_type, shown)
            if prompt.name_shown_patterns:
                problems = naming_shown_patterns(
                    problems, answer.fraud_type, shown, prompt.trust_shown_pattern
                )
    update["problems"] = problems
    if not problems:
        return update
    error = "; ".join(problems)
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    if checked >= MAX_ANSWERS:
        update["fallback_reason"] = f"no acceptable answer after {checked} tries: {error}"
        update["answer"] = None
        update["refuted_type"] = _refuted_with_nothing_shown(state, runtime.context, refuted)
    else:
        # The rejected answer itself is not replayed: the error names what was wrong, and the
        # prompt stays within the context the render budget was planned for.
        retry = runtime.context.prompt.retry_message(state.rendered, error)
        update["messages"] = [*state.messages, retry]
    return update


def _refuted_with_nothing_shown(
    state: State, context: Context, refuted: list[str]
) -> FraudType | None:
    """The last answer's type when the case's events rule it out and show no type's whole
    pattern (prompts with `clear_refuted`): the model's only claim is contradicted."""
    if not (context.prompt.clear_refuted and refuted and state.answer is not None):
        return None
    prompt = context.prompt
    if shown_patterns(state.sequence.events, prompt.shown_extras, shown_links(state, prompt)):
        return None
    return state.answer.fraud_type


def route_after_check_grounding(
    state: State,
) -> Literal["classify_case", "cite_evidence", "apply_risk_policy"]:
    if state.fallback_reason is not None:
        return "apply_risk_policy"
    return "classify_case" if state.problems else "cite_evidence"


async def cite_evidence(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """(Prompts with `cite_prompt`.) The type is decided; ask, in a turn of its own, for the
    events that show it, from those of its kinds only, and let them replace the answer's
    evidence. When that turn fails, or its reply cites other events, the answer's own evidence
    stands."""
    assert state.answer is not None
    context = runtime.context
    answer, events = state.answer, state.sequence.events
    turn = context.prompt.cite_turn(answer.fraud_type, answer.evidence, events)
    if turn is None:
        return {}
    message, schema = turn
    answered: ChatMessage = {"role": "assistant", "content": answer.model_dump_json()}
    attempt = await request_answer(
        context.chat,
        [*state.messages, answered, message],
        schema=schema,
        max_tokens=min(context.max_tokens, CITE_MAX_TOKENS),
        max_retries=context.max_retries,
        retry_backoff_s=context.retry_backoff_s,
        parse=CitedEvidence,
    )
    update = _usage(state, attempt)
    cited = attempt.answer.evidence if attempt.answer is not None else []
    # A server that ignores the grammar could reply with other events: those are not taken.
    if cited_events(cited, events) and not kind_problems(answer.fraud_type, cited, events):
        update["answer"] = answer.model_copy(update={"evidence": cited})
    return update


def apply_risk_policy(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Bound the proposed action by the deterministic policy; a fallback proposes
    `manual_review`, or the policy's `refuted_fallback` when its model's claim was refuted."""
    assert state.score is not None and state.rendered is not None
    answer, policy = state.answer, runtime.context.policy
    decision = policy.apply(
        PolicyInput.proposing(
            (answer.fraud_type, answer.confidence, answer.action) if answer else None,
            state.score.score,
            state.score.flagged,
            state.rendered.instruction_like,
            fallback_action="manual_review"
            if state.refuted_type is None
            else policy.refuted_fallback,
        )
    )
    return {
        "action": decision.action,
        "policy_notes": decision.notes,
        "needs_approval": decision.action in runtime.context.require_approval_for,
    }


def route_after_apply_risk_policy(
    state: State,
) -> Literal["request_approval", "finalize_verdict"]:
    if state.needs_approval:
        return "request_approval"
    return "finalize_verdict"


def request_approval(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pause until an analyst approves or rejects the severe action (resume with a decision)."""
    pending = compose_verdict(state, runtime.context, awaiting_approval=True)
    raw = interrupt({"case_id": state.case_id, "verdict": pending.model_dump(mode="json")})
    decision = ApprovalDecision.model_validate(raw)
    note = f" ({decision.note})" if decision.note else ""
    if decision.approved:
        return {
            "policy_notes": [
                *state.policy_notes,
                f"{state.action} approved by {decision.analyst}{note}",
            ]
        }
    return {
        "action": decision.action_if_rejected,
        "policy_notes": [
            *state.policy_notes,
            f"{state.action} → {decision.action_if_rejected}: rejected by {decision.analyst}{note}",
        ],
    }


def finalize_verdict(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    return {"verdict": compose_verdict(state, runtime.context)}


def fallback_guess(state: State, context: Context) -> tuple[FraudType, float, str]:
    """A fallback's type, confidence and explanation: `none` when its model's claim was refuted
    (`clear_refuted`), the one type whose whole pattern the case shows (`trust_shown_pattern`),
    or else the detector's guess."""
    assert state.score is not None
    reason = str(state.fallback_reason)
    if state.refuted_type is not None:
        return "none", 0.0, refuted_explanation(reason, state.refuted_type)
    shown = None
    if context.prompt.trust_shown_pattern:
        prompt = context.prompt
        links = shown_links(state, prompt)
        shown = the_one_shown(shown_patterns(state.sequence.events, prompt.shown_extras, links))
    if shown is not None:
        fraud_type, confidence, basis = shown_type_guess(state.score, *shown)
        return fraud_type, confidence, fallback_explanation(reason, basis)
    fraud_type, confidence = detector_type_guess(state.score)
    return fraud_type, confidence, fallback_explanation(reason)


def compose_verdict(state: State, context: Context, awaiting_approval: bool = False) -> Verdict:
    """The verdict from the state; while awaiting approval the action is held at `manual_review`."""
    assert state.score is not None and state.action is not None
    answer = state.answer
    action, notes, awaiting = state.action, list(state.policy_notes), None
    if awaiting_approval:
        awaiting, action = state.action, "manual_review"
        notes.append(f"{state.action} awaits analyst approval; manual_review until then")
    if answer is None:
        fraud_type, confidence, explanation = fallback_guess(state, context)
    else:
        fraud_type, confidence = answer.fraud_type, answer.confidence
        # The `<type> (<action>):` opening some prompts ask for lets the model's action follow
        # its type; the verdict states both in their own fields (the action after the policy),
        # and a small model often fills the parentheses with the prompt's words ("its standard
        # action"), so the verdict keeps what follows it.
        explanation = without_opening(answer.explanation).strip() or answer.explanation
    return Verdict(
        case_id=state.case_id,
        user_id=state.sequence.user_id,
        detector_score=state.score.score,
        flagged=state.score.flagged,
        fraud_type=fraud_type,
        confidence=confidence,
        explanation=explanation,
        evidence=list(dict.fromkeys(answer.evidence)) if answer else [],
        action=action,
        proposed_action=answer.action if answer else None,
        policy_notes=notes,
        model=context.chat.name,
        prompt_version=context.prompt.version,
        detector_version=context.detector_version,
        fallback_reason=state.fallback_reason,
        refuted_type=state.refuted_type,
        awaiting_approval=awaiting,
        llm_calls=state.llm_calls,
        prompt_tokens=state.prompt_tokens,
        completion_tokens=state.completion_tokens,
        latency_s=round(max(0.0, context.clock() - state.started_at), 3),
    )
