"""Test doubles for the agent: a scripted chat model, a fixed screener, small sequences."""

from __future__ import annotations

import json
from collections.abc import Sequence as SequenceOf
from typing import Any

from agent.llm.client import ChatMessage, ChatModelError, ChatResult
from detectors.events import parse_event
from detectors.scores import EventSurprise, SequenceScore
from detectors.sequences import Sequence, order_events

T0 = 1_772_442_000.0
"""2026-03-02T09:00:00Z."""


def answer_json(
    fraud_type: str = "card_testing",
    action: str = "block_account",
    evidence: list[str] | None = None,
    confidence: float = 0.9,
    explanation: str = "Many small declined payment attempts on new cards (e1, e2).",
) -> str:
    return json.dumps(
        {
            "explanation": explanation,
            "evidence": ["e1", "e2"] if evidence is None else evidence,
            "fraud_type": fraud_type,
            "confidence": confidence,
            "action": action,
        }
    )


def is_citing_turn(json_schema: dict[str, Any] | None) -> bool:
    """The schema of the citing turn (prompts with `cite_prompt`): only an evidence list."""
    return json_schema is not None and set(json_schema.get("properties", {})) == {"evidence"}


def citing_reply(json_schema: dict[str, Any]) -> str:
    """A citing turn's answer: the first id its grammar allows."""
    first = json_schema["properties"]["evidence"]["prefixItems"][0]["enum"][0]
    return json.dumps({"evidence": [first]})


class ScriptedChatModel:
    """Answers from a script: each entry is a JSON string to return or an exception to raise.

    A citing turn (the default prompt asks one after an accepted fraud answer) is answered
    off-script with the first id its grammar allows, and kept apart in `cite_requests`, unless
    `script_cites` puts those answers in the script too."""

    def __init__(
        self, script: list[str | Exception], name: str = "scripted", script_cites: bool = False
    ) -> None:
        self.name = name
        self.script = list(script)
        self.script_cites = script_cites
        self.requests: list[list[ChatMessage]] = []
        self.schemas: list[dict[str, Any] | None] = []
        self.cite_requests: list[list[ChatMessage]] = []

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        if is_citing_turn(json_schema) and not self.script_cites:
            assert json_schema is not None
            self.cite_requests.append(list(messages))
            reply = citing_reply(json_schema)
            return ChatResult(reply, prompt_tokens=100, completion_tokens=10, finish_reason="stop")
        self.requests.append(list(messages))
        self.schemas.append(json_schema)
        if not self.script:
            raise AssertionError(f"script exhausted after {len(self.requests) - 1} answers")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return ChatResult(step, prompt_tokens=100, completion_tokens=20, finish_reason="stop")


def timeout_error() -> ChatModelError:
    return ChatModelError("http://model did not answer within 1s", retryable=True)


class FixedScreener:
    """Scores every sequence with the same score; surprise grows with the position."""

    version = "fixed-1"

    def __init__(
        self,
        score: float = 0.995,
        threshold: float = 0.5,
        fraud_type_probs: dict[str, float] | None = None,
    ) -> None:
        self.score = score
        self.threshold = threshold
        self.fraud_type_probs = fraud_type_probs
        self.calls = 0

    def explain(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        self.calls += 1
        scores = [sequence_score(sequence, self.score, self.threshold) for sequence in sequences]
        if self.fraud_type_probs is not None:
            for score in scores:
                score.fraud_type_probs = dict(self.fraud_type_probs)
        return scores


def sequence_score(
    sequence: Sequence, score: float = 0.995, threshold: float = 0.5
) -> SequenceScore:
    surprises = [
        EventSurprise(index, f"{event.action}|tok", nll=float(index % 7), rank=1 + index % 7)
        for index, event in enumerate(sequence.events)
    ]
    return SequenceScore(
        sequence.user_id, score, score >= threshold, surprises, embedding=[1.0, 0.0, 0.5]
    )


def make_sequence(records: list[dict[str, Any]], user_id: str = "u1") -> Sequence:
    events = [parse_event({"user_id": user_id, **record}) for record in records]
    return Sequence(user_id, order_events(events))


def card_testing_sequence(user_id: str = "u1", text: str | None = None) -> Sequence:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "account_signup", "device_id": "d1", "ip": "10.1.2.3", "country": "US"}
    ]
    for index in range(6):
        records.append(
            {
                "ts": T0 + 10 * (index + 1),
                "action": "payment_attempt",
                "amount": 1.0,
                "payment_method": f"card:41111111{index:08d}",
                "status": "declined",
            }
        )
    if text is not None:
        records.append({"ts": T0 + 200, "action": "review", "rating": 5, "text": text})
    return make_sequence(records, user_id)
