"""`bench prompt` counts exactly the first request the agent sends for each case."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agent_doubles import (
    FixedScreener,
    ScriptedChatModel,
    answer_json,
    card_testing_sequence,
    sequence_score,
)
from typer.testing import CliRunner

from agent.cli import _register_commands, app
from agent.investigator import FlaggedCase, Investigator
from agent.llm.client import ChatMessage
from agent.llm.prompt_bench import prompt_size_table, prompt_sizes
from agent.settings import Settings

_register_commands()


class WordTokenizer:
    """Role tags and whitespace-separated words: a tokenizer whose counts are easy to check."""

    def apply_chat_template(
        self, messages: list[ChatMessage], add_generation_prompt: bool, tokenize: bool
    ) -> str:
        assert not tokenize
        text = " ".join(f"<{m['role']}> {m['content']}" for m in messages)
        return text + (" <assistant>" if add_generation_prompt else "")

    def __call__(self, text: str) -> dict[str, Any]:
        return {"input_ids": text.split()}


def test_sizes_are_those_of_the_request_the_agent_sends(tmp_path: Path) -> None:
    sequence = card_testing_sequence()
    score = sequence_score(sequence)
    settings = Settings(checkpoint_db=tmp_path / "checkpoints.sqlite")
    chat = ScriptedChatModel([answer_json()])
    investigator = Investigator(settings, chat, FixedScreener(), retry_backoff_s=0.0)
    asyncio.run(investigator.investigate("c1", sequence, score))
    sent = chat.requests[0]
    tokenizer = WordTokenizer()
    expected = len(tokenizer.apply_chat_template(sent, True, False).split())

    rows = prompt_sizes(
        settings,
        FixedScreener(),
        [FlaggedCase("c1", sequence, score)],
        ["verdict_v6", settings.prompt_version],
        tokenizer,
    )

    v6, default = rows
    assert default.version == settings.prompt_version and default.cases == 1
    assert default.median == default.largest == expected
    assert default.shared_prefix == 1 + len(sent[0]["content"].split())
    assert default.median_own == expected - default.shared_prefix
    assert v6.shared_prefix == default.shared_prefix  # v7 changes the timeline, not the prefix
    assert "| verdict_v6 | 1 |" in prompt_size_table(rows, Path("cases.jsonl"), "m")


def test_an_unknown_prompt_version_is_a_usage_error_naming_it() -> None:
    result = CliRunner().invoke(app, ["bench", "prompt", "--prompt-version", "verdict_v99"])
    assert result.exit_code == 2
    assert "verdict_v99" in result.output and "--prompt-version" in result.output
