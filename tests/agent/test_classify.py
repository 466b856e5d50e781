"""The structured verdict request and the grounding check, on a scripted chat model."""

from __future__ import annotations

import asyncio
import re

from agent_doubles import ScriptedChatModel, answer_json, timeout_error

from agent.classify import AnswerAttempt, request_answer
from agent.grounding import grounding_problems
from agent.llm.client import ChatMessage
from agent.prompting import VerdictPrompt
from agent.render.case import RenderedCase
from agent.verdict import ModelAnswer, answer_json_schema

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "case"}]


def ask(chat: ScriptedChatModel, max_retries: int = 2) -> AnswerAttempt[ModelAnswer]:
    request = request_answer(
        chat,
        MESSAGES,
        schema=answer_json_schema(),
        max_tokens=64,
        max_retries=max_retries,
        retry_backoff_s=0,
        parse=ModelAnswer,
    )
    return asyncio.run(request)


def test_a_valid_answer_is_parsed() -> None:
    attempt = ask(ScriptedChatModel([answer_json(action="hold_order")]))
    assert attempt.answer is not None and attempt.answer.action == "hold_order"
    assert attempt.error is None and attempt.calls == 1 and attempt.prompt_tokens == 100


def test_the_grammar_bounds_each_cited_id_so_a_model_cannot_run_on_in_digits() -> None:
    """A model writing a range (`e82–e143`) the grammar refuses kept writing digits until the
    token limit cut its answer; an id is now at most `e` and six digits."""
    pattern = answer_json_schema()["properties"]["evidence"]["items"]["pattern"]
    assert re.fullmatch(pattern, "e0") and re.fullmatch(pattern, "e999999")
    assert not re.fullmatch(pattern, "e8283848586")
    assert not re.fullmatch(pattern, "e82–e143")


def test_an_invalid_answer_comes_back_with_its_error_not_retried() -> None:
    chat = ScriptedChatModel([answer_json(action="shrug"), answer_json()])
    attempt = ask(chat)
    assert attempt.answer is None and not attempt.unreachable
    assert attempt.error is not None and "action" in attempt.error
    assert len(chat.requests) == 1


def test_transport_failures_are_retried_up_to_the_bound() -> None:
    chat = ScriptedChatModel([timeout_error(), timeout_error(), answer_json()])
    assert ask(chat, max_retries=2).answer is not None
    chat = ScriptedChatModel([timeout_error(), timeout_error()])
    attempt = ask(chat, max_retries=1)
    assert attempt.unreachable and attempt.calls == 2 and attempt.answer is None


def test_grounding_names_ids_that_do_not_exist() -> None:
    case = RenderedCase(text="...", event_count=5)
    answer = ModelAnswer(
        explanation="Declines at e2 and e9.",
        evidence=["e1", "e5"],
        fraud_type="card_testing",
        confidence=0.8,
        action="hold_order",
    )
    problems = grounding_problems(answer, case)
    assert problems[0] == "evidence ids e5 do not exist; the case has e0 to e4"
    assert "explanation cites e9" in problems[1]
    grounded = answer.model_copy(update={"explanation": "Declines at e2.", "evidence": ["e4"]})
    assert grounding_problems(grounded, case) == []
    empty = grounded.model_copy(update={"evidence": []})
    expected = ["fraud_type card_testing needs at least one evidence id"]
    assert grounding_problems(empty, case) == expected
    bare = grounded.model_copy(update={"explanation": "card_testing (block_account): "})
    assert grounding_problems(bare, case) == [
        "the explanation states nothing after its opening: say what in this case's events "
        "shows the type you name, with their ids"
    ]


def test_a_prompt_can_bound_the_answer_tighter_than_the_verdict_allows() -> None:
    loose = VerdictPrompt.load("verdict_v4").answer_schema([])
    tight = VerdictPrompt.load("verdict_v5").answer_schema([])
    assert loose == answer_json_schema()
    assert tight["properties"]["explanation"]["maxLength"] == 240
    assert tight["properties"]["evidence"]["maxItems"] == 5
    assert answer_json_schema(max_evidence=99)["properties"]["evidence"]["maxItems"] == 12
