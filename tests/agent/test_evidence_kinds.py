"""The kinds of event each fraud type rests on, shared by the agent's retry and the scorer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_doubles import FixedScreener, ScriptedChatModel, answer_json, card_testing_sequence

from agent.evidence_kinds import EVIDENCE_KINDS, REQUIRED_KINDS, cited_kind_problems, kind_problems
from agent.investigator import Investigator
from agent.settings import Settings
from detectors.cases import FRAUD_TYPES

EVENTS = card_testing_sequence().events  # e0 account_signup, e1–e6 declined payment attempts


def test_every_fraud_type_has_its_kinds_and_required_kinds_are_among_them() -> None:
    assert set(EVIDENCE_KINDS) == set(FRAUD_TYPES) - {"none"}
    assert all(REQUIRED_KINDS[t] <= EVIDENCE_KINDS[t] for t in REQUIRED_KINDS)


@pytest.mark.parametrize(
    ("fraud_type", "evidence", "expected"),
    [
        ("card_testing", ["e1", "e2"], []),
        ("none", ["e0"], []),  # `none` may cite anything
        ("card_testing", ["e9"], []),  # ids that do not exist are the grounding check's
        ("card_testing", [], ["card_testing cites no event"]),
        (
            "card_testing",
            ["e0"],
            [
                "card_testing does not rest on e0 (account_signup)",
                "card_testing needs a cited payment_attempt event",
            ],
        ),
        ("refund_abuse", ["e1"], ["refund_abuse does not rest on e1 (payment_attempt)",
                                  "refund_abuse needs a cited refund_request or return event"]),
    ],
)  # fmt: skip
def test_kind_problems_name_each_event_outside_the_types_kinds(
    fraud_type: str, evidence: list[str], expected: list[str]
) -> None:
    assert kind_problems(fraud_type, evidence, EVENTS) == expected


def test_the_retry_message_lists_the_kinds_and_leaves_none_open() -> None:
    (message,) = cited_kind_problems("card_testing", ["e0"], EVENTS)
    assert message.startswith("the evidence does not show card_testing: card_testing does not")
    assert "(card_testing: checkout, payment_attempt, payment_method_add)" in message
    assert "or none" in message


@pytest.mark.parametrize(("version", "calls"), [("verdict_v14", 1), ("verdict_v15", 2)])
def test_from_v15_an_answer_citing_other_kinds_is_sent_back(
    tmp_path: Path, version: str, calls: int
) -> None:
    off_kind = answer_json(evidence=["e0", "e1"], explanation="A new account (e0) pays (e1).")
    chat = ScriptedChatModel([off_kind, answer_json()])
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", card_testing_sequence()))

    assert verdict.fallback_reason is None and verdict.llm_calls == calls
    if calls == 2:
        assert "does not rest on e0 (account_signup)" in chat.requests[1][-1]["content"]
        assert verdict.evidence == ["e1", "e2"]
