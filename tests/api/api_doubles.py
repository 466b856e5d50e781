"""Test parts for the API: behaviour events, a tiny trained detector, a scripted chat model."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.investigator import Investigator
from agent.llm.client import ChatMessage, ChatModel, ChatModelError, ChatResult
from agent.settings import Settings
from detectors.detector import LSTMDetector
from detectors.events import parse_event
from detectors.sequences import group_sequences

CHAT_ANSWER = "The card was tried on e1 and e2 within seconds, all declined: typical card testing."
MODEL_ANSWER = {
    "explanation": "A new card pays a high amount (e1, e2) minutes after it was added.",
    "evidence": ["e1", "e2"],
    "fraud_type": "payment_fraud",
    "confidence": 0.9,
    "action": "hold_order",
}


def legit_events(user: str, start: float = 1_770_000_000.0) -> list[dict[str, Any]]:
    actions = ["login", "view", "view", "add_to_cart", "checkout", "purchase", "logout"]
    return [
        {"user_id": user, "ts": start + 60 * i, "action": action, "device_id": "d1", "amount": 30}
        for i, action in enumerate(actions)
    ]


def card_testing_events(user: str, start: float = 1_770_000_000.0) -> list[dict[str, Any]]:
    """Declined tries of foreign cards: MODEL_ANSWER's payment fraud fits it too (a verdict
    prompt with `check_pattern` sends back a type the case rules out)."""
    events: list[dict[str, Any]] = [
        {"user_id": user, "ts": start, "action": "login", "country": "DE"}
    ]
    for i in range(1, 9):
        events.append(
            {
                "user_id": user,
                "ts": start + 3 * i,
                "action": "payment_attempt",
                "amount": 1.0,
                "status": "declined",
                "payment_method": f"card:****{1000 + i}",
                "billing_country": "BR",
                "ip": "203.0.113.7",
                "text": "contact me at someone@example.com",
            }
        )
    return events


def train_tiny_detector(directory: Path) -> Path:
    """A detector fitted in seconds on a few legitimate users; enough to exercise the API."""
    rng = random.Random(0)
    records: list[dict[str, Any]] = []
    for index in range(40):
        records += legit_events(f"legit{index}", 1_770_000_000.0 + rng.randint(0, 10_000))
    sequences = group_sequences(parse_event(record) for record in records)
    detector = LSTMDetector(hidden=16, embed_dim=8, epochs=2, min_count=1, seed=0)
    detector.fit(sequences)
    return detector.save(directory)


class ScriptedChatModel:
    """Answers every schema with a fixed valid JSON, free text with CHAT_ANSWER."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[list[ChatMessage]] = []

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        self.calls.append(messages)
        if json_schema is None:
            text = CHAT_ANSWER
        elif "tools" in json_schema.get("properties", {}):
            text = json.dumps({"tools": [{"name": "detector_reasons", "event_ids": []}]})
        else:
            text = json.dumps(MODEL_ANSWER)
        return ChatResult(text=text, prompt_tokens=10, completion_tokens=10)


def make_investigator(settings: Settings, detector: LSTMDetector, model: ChatModel) -> Investigator:
    return Investigator(settings, model, detector, retry_backoff_s=0.0)


class SwitchableChatModel(ScriptedChatModel):
    """The scripted model behind a switch: while `down`, every call fails like a dead server."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        if self.down:
            raise ChatModelError("cannot reach the scripted server: it is down", retryable=True)
        return await super().complete(messages, json_schema, max_tokens)


class SlowStreamingModel(ScriptedChatModel):
    """Streams CHAT_ANSWER word by word with a pause, like a real server under load."""

    async def stream(
        self, messages: list[ChatMessage], max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        for word in CHAT_ANSWER.split(" "):
            await asyncio.sleep(0.05)
            yield word + " "
