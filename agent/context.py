"""Per-run knobs and collaborators of the investigation graph (LangGraph runtime context)."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, field
from typing import Protocol

from agent.fewshot import FewShotLibrary
from agent.llm.client import ChatModel
from agent.policy import RiskPolicy
from agent.prompting import VerdictPrompt
from agent.render.case import RenderOptions
from detectors.scores import SequenceScore
from detectors.sequences import Sequence


class Screener(Protocol):
    """The detector as the agent uses it (detectors.detector.LSTMDetector fits)."""

    version: str

    def explain(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        """Score, flag and per-event surprise for each sequence, in input order."""
        ...


@dataclass(kw_only=True)
class Context:
    """Not checkpointed: given again on every run and resume."""

    chat: ChatModel
    """The model that classifies the case."""
    prompt: VerdictPrompt
    """The versioned prompt files; their version is recorded in every verdict."""
    policy: RiskPolicy
    """Bounds the model's proposed action."""
    library: FewShotLibrary
    """Labelled examples; the most similar ones are shown to the model."""
    screener: Screener | None = None
    """Scores a sequence that arrives without a score."""
    detector_version: str = "unknown"
    render_options: RenderOptions = field(default_factory=RenderOptions)
    """How the case is rendered (its token budget fits the model's context)."""
    example_render_options: RenderOptions = field(default_factory=RenderOptions)
    """How few-shot examples are rendered (shorter than the case)."""
    few_shot_k: int = 2
    """Few-shot examples per case."""
    max_tokens: int = 384
    """Longest answer the model may give."""
    max_retries: int = 2
    """Transport retries (timeouts, connection errors) per request."""
    retry_backoff_s: float = 1.0
    """First wait before a transport retry; doubles each time."""
    require_approval_for: tuple[str, ...] = ()
    """Actions that pause for an analyst before they become final."""
    clock: Callable[[], float] = time.time
