"""The citing turn (prompts with `cite_prompt`, verdict_v18): once a fraud answer is accepted,
the model is asked for the events that show its type, from that type's kinds only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest
from agent_doubles import (
    T0,
    FixedScreener,
    ScriptedChatModel,
    answer_json,
    card_testing_sequence,
    make_sequence,
)

from agent.investigator import Investigator
from agent.llm.client import ChatModelError
from agent.prompting import VerdictPrompt
from agent.settings import Settings
from agent.verdict import Verdict
from detectors.sequences import Sequence

CARD_TESTING = "card_testing (block_account): 6 declines on 6 cards in a minute (e1, e6)"


def _investigate(
    tmp_path: Path, version: str, chat: ScriptedChatModel, sequence: Sequence | None = None
) -> Verdict:
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    return asyncio.run(investigator.investigate("c1", sequence or card_testing_sequence()))


def test_the_cited_events_replace_the_answers_own_and_nothing_else_changes(
    tmp_path: Path,
) -> None:
    first = answer_json(explanation=CARD_TESTING, evidence=["e0", "e1"])  # e0: the sign-up
    chat = ScriptedChatModel(
        [first, json.dumps({"evidence": ["e3", "e1", "e3"]})], script_cites=True
    )
    verdict = _investigate(tmp_path, "verdict_v18", chat)

    assert verdict.fallback_reason is None
    assert verdict.evidence == ["e3", "e1"]
    assert verdict.fraud_type == "card_testing"
    assert verdict.explanation == CARD_TESTING.split(": ", 1)[1]  # less the type-and-action opening
    assert verdict.llm_calls == 2 and verdict.completion_tokens == 40
    answered, cite = chat.requests[1][-2:]
    assert answered["role"] == "assistant" and json.loads(answered["content"])["evidence"] == [
        "e0",
        "e1",
    ]
    assert cite["role"] == "user" and "You named card_testing" in cite["content"]
    assert "the first a payment_attempt event" in cite["content"]
    schema = chat.schemas[1]
    assert schema is not None
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"evidence": ["e2", "e1"]})
    assert not validator.is_valid({"evidence": ["e0", "e1"]})  # a sign-up is not its kind
    assert not validator.is_valid({"evidence": []})


def test_a_none_answer_is_not_asked_to_cite(tmp_path: Path) -> None:
    records = [{"ts": T0 + 60 * i, "action": "view", "item_id": f"i{i}"} for i in range(5)]
    records.append({"ts": T0 + 600, "action": "purchase", "item_id": "i4", "amount": 20.0})
    honest = answer_json(
        fraud_type="none",
        action="allow",
        explanation="none (allow): five views, then one purchase of 20.00 (e5)",
        evidence=["e0"],
    )
    chat = ScriptedChatModel([honest], script_cites=True)
    verdict = _investigate(tmp_path, "verdict_v18", chat, make_sequence(records))
    assert verdict.llm_calls == 1 and verdict.evidence == ["e0"]


@pytest.mark.parametrize(
    "reply",
    [
        ChatModelError("http://model: 400 prompt too long", retryable=False),
        json.dumps({"evidence": ["e0", "e1"]}),  # a server that ignored the grammar: a sign-up
        json.dumps({"evidence": ["e1", "e40"]}),  # no such event
    ],
)
def test_when_the_citing_turn_fails_the_answers_own_evidence_stands(
    tmp_path: Path, reply: str | Exception
) -> None:
    first = answer_json(explanation=CARD_TESTING, evidence=["e1", "e6"])
    chat = ScriptedChatModel([first, reply], script_cites=True)
    verdict = _investigate(tmp_path, "verdict_v18", chat)
    assert verdict.fallback_reason is None and verdict.evidence == ["e1", "e6"]
    assert verdict.llm_calls == 2


def test_v14_has_no_citing_turn(tmp_path: Path) -> None:
    chat = ScriptedChatModel(
        [answer_json(explanation=CARD_TESTING, evidence=["e0", "e1"])], script_cites=True
    )
    verdict = _investigate(tmp_path, "verdict_v14", chat)
    assert verdict.llm_calls == 1 and verdict.evidence == ["e0", "e1"]
    assert VerdictPrompt.load("verdict_v14").cite is None


@pytest.mark.parametrize(
    ("evidence", "calls", "ends_with"),
    [
        (["e1", "e6"], 1, ["e1", "e6"]),  # declined payment attempts: card testing's own kinds
        (["e0", "e1"], 2, ["e3", "e1"]),  # a sign-up among them: the citing turn replaces it
    ],
)
def test_v19_asks_to_cite_only_when_the_answers_evidence_breaks_its_kinds(
    tmp_path: Path, evidence: list[str], calls: int, ends_with: list[str]
) -> None:
    first = answer_json(explanation=CARD_TESTING, evidence=evidence)
    chat = ScriptedChatModel([first, json.dumps({"evidence": ["e3", "e1"]})], script_cites=True)
    verdict = _investigate(tmp_path, "verdict_v19", chat)
    assert verdict.fallback_reason is None and verdict.fraud_type == "card_testing"
    assert verdict.llm_calls == calls and verdict.evidence == ends_with
