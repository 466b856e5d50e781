"""Untrusted user-written text: quoted and capped for the model, checked for injected orders."""

from __future__ import annotations

import json
import re

from agent.render.facts import event_id
from agent.render.masking import mask_text
from detectors.events import Event

MAX_QUOTED_CHARS = 160

_INSTRUCTION_PATTERNS = (
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instruction|prompt|rule|above|previous|"
    r"prior|detector|score|policy)",
    r"\b(system|assistant|developer)\s*(prompt|message|:)",
    r"\byou\s+(are|must|should|will)\s+(now\s+)?(in\s+)?(an?\s+)?(ai|assistant|model|debug|"
    r"classify|mark|label|output|respond|return|answer)",
    r"\b(classify|mark|label|flag|treat)\s+(this|me|the|my|it|as)\b",
    r"\b(ai|llm|gpt|model|bot)\s+(reviewer|assistant|analyst|moderator|auditor)",
    r"\b(do\s+not|don't|never)\s+(flag|block|report|review)\b",
    r"\b(fraud_type|risk action|verdict|confidence)\b",
    r"\b(action|decision|answer|output)\s*[:=]",
    r"\b(answer|output|return|respond\s+with)\s+(allow|none|monitor)\b",
    r"\b(allow|approve|whitelist)\s+(this|me|the|my)\b",
    r"\bnew\s+instructions?\b|\bdebug\s+mode\b",
    r"[{}]\s*\"",
    r"</?\s*(system|user|assistant|review|instructions?|im_start|im_end)\b",
    r"忽略|无视|指令|提示词|系统提示|判定为|直接输出|风控规则|审核员|人工审核",
)
_INSTRUCTION = re.compile("|".join(f"(?:{pattern})" for pattern in _INSTRUCTION_PATTERNS), re.I)


def quote_untrusted(text: str, max_chars: int = MAX_QUOTED_CHARS) -> str:
    """One JSON-quoted line, PII masked, capped at `max_chars` (a cut is marked with `…`)."""
    flat = " ".join(mask_text(text).split())
    if len(flat) > max_chars:
        flat = flat[: max_chars - 1] + "…"
    return json.dumps(flat, ensure_ascii=False)


def instruction_like_ids(events: list[Event]) -> list[str]:
    """Ids of the time-ordered events whose user-written text reads like an instruction."""
    return [
        event_id(index)
        for index, event in enumerate(events)
        if event.text is not None and looks_like_instruction(event.text)
    ]


def looks_like_instruction(text: str) -> bool:
    """True when free text reads like an instruction to the model (a prompt-injection attempt)."""
    return _INSTRUCTION.search(text) is not None
