"""Versioned prompt files (prompts/<version>_*.md) and the chat messages built from them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

import prompts
from agent.llm.client import ChatMessage
from agent.render.case import RenderedCase
from agent.render.facts import event_id
from agent.render.token_estimate import estimate_tokens
from agent.verdict import ModelAnswer

PROMPTS_DIR = Path(prompts.__file__).parent
PROMPT_PARTS = ("system", "user", "retry")
EXAMPLE_ANSWER_TOKENS = 200
"""Room for one few-shot example's answer JSON."""
RETRY_TOKENS = 250
"""Room for the retry turn (template and a capped error) after a rejected answer."""
MESSAGE_OVERHEAD_TOKENS = 10
"""Chat-template tokens around each message."""
MIN_CASE_TOKENS = 300


class PromptNotFoundError(FileNotFoundError):
    """A prompt version whose files are missing."""


@dataclass(frozen=True, slots=True)
class FewShotExample:
    """A labelled case rendered like a real one, with the answer a careful analyst gives."""

    case: RenderedCase
    answer: ModelAnswer


@dataclass(frozen=True, slots=True)
class VerdictPrompt:
    """One prompt version: a system prompt, a user template (`$case`, optionally
    `$type_estimate`) and a retry template."""

    version: str
    system: str
    user: Template
    retry: Template
    nearest_example_last: bool = False
    """Show the most similar example last, right before the case (small models copy the answer
    they saw last); set by `nearest_example_last = true` in prompts/<version>_options.toml."""

    @classmethod
    def load(cls, version: str, directory: Path = PROMPTS_DIR) -> VerdictPrompt:
        paths = {part: directory / f"{version}_{part}.md" for part in PROMPT_PARTS}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing:
            raise PromptNotFoundError(
                f"prompt version {version!r} is missing {len(missing)} of {len(paths)} files: "
                + ", ".join(missing)
            )
        text = {part: path.read_text(encoding="utf-8").strip() for part, path in paths.items()}
        options_path = directory / f"{version}_options.toml"
        options = {}
        if options_path.is_file():
            options = tomllib.loads(options_path.read_text(encoding="utf-8"))
        return cls(
            version,
            text["system"],
            Template(text["user"]),
            Template(text["retry"]),
            nearest_example_last=bool(options.get("nearest_example_last", False)),
        )

    def case_token_budget(
        self, max_model_len: int, max_answer_tokens: int, examples: int, example_tokens: int
    ) -> int:
        """Tokens left for the rendered case once everything else in the context is planned."""
        messages = 2 + 2 * examples + 1
        fixed = (
            estimate_tokens(self.system)
            + estimate_tokens(self.user.template)
            + examples * (example_tokens + EXAMPLE_ANSWER_TOKENS)
            + RETRY_TOKENS
            + messages * MESSAGE_OVERHEAD_TOKENS
            + max_answer_tokens
        )
        left = max_model_len - fixed
        if left < MIN_CASE_TOKENS:
            raise ValueError(
                f"a {max_model_len}-token context leaves {left} tokens for the case after the "
                f"prompt, {examples} examples of {example_tokens} and a {max_answer_tokens}-token "
                f"answer; need ≥ {MIN_CASE_TOKENS}: raise llm_max_model_len or lower few_shot_k"
            )
        return left

    def user_message(self, case: RenderedCase) -> str:
        return self.user.substitute(case=case.text, type_estimate=case.type_estimate)

    def messages(self, case: RenderedCase, examples: list[FewShotExample]) -> list[ChatMessage]:
        """System prompt, each example (given most similar first) as a user/assistant pair, then
        the case."""
        messages: list[ChatMessage] = [{"role": "system", "content": self.system}]
        for example in reversed(examples) if self.nearest_example_last else examples:
            messages.append({"role": "user", "content": self.user_message(example.case)})
            messages.append({"role": "assistant", "content": example.answer.model_dump_json()})
        messages.append({"role": "user", "content": self.user_message(case)})
        return messages

    def retry_message(self, case: RenderedCase, error: str) -> ChatMessage:
        """The follow-up sent after an answer that failed validation or grounding."""
        last = event_id(case.event_count - 1)
        return {"role": "user", "content": self.retry.substitute(error=error, last_event_id=last)}
