"""`fraudlens bench prompt`: the size of the verdict prompts a model is sent, counted with its
own tokenizer for every flagged case of a file, prompt versions side by side; no server."""

from __future__ import annotations

import statistics
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Screener
from agent.investigator import FlaggedCase, Investigator
from agent.llm.client import ChatMessage, OpenAIChatModel
from agent.nodes import opening_messages
from agent.settings import Settings

UNUSED_ENDPOINT = "http://127.0.0.1:9/v1"
"""Counting tokens calls no model; the investigator is built with an endpoint never used."""


@dataclass(frozen=True, slots=True)
class PromptSizeRow:
    """One prompt version's sizes over the flagged cases, in the model's tokens."""

    version: str
    cases: int
    shared_prefix: int
    """The system message: identical for every case, served from vLLM's prefix cache after the
    first (the larger of the cases' values when few-shot examples make it differ)."""
    median: float
    p90: float
    largest: int
    median_own: float
    """Tokens after the shared prefix: what each case costs to prefill."""


def prompt_sizes(
    settings: Settings,
    detector: Screener,
    cases: SequenceOf[FlaggedCase],
    versions: SequenceOf[str],
    tokenizer: Any,
) -> list[PromptSizeRow]:
    """The first request of each case (before any retry), as the agent would send it."""

    def count(messages: list[ChatMessage], *, answer_next: bool) -> int:
        text = tokenizer.apply_chat_template(
            messages, add_generation_prompt=answer_next, tokenize=False
        )
        return len(tokenizer(text)["input_ids"])

    rows = []
    for version in versions:
        investigator = Investigator(
            settings.model_copy(update={"prompt_version": version}),
            OpenAIChatModel.from_settings(settings, UNUSED_ENDPOINT),
            detector,
            checkpointer=InMemorySaver(),
        )
        totals, prefixes = [], []
        for case in cases:
            rendered = investigator.render_case(case.sequence, case.score)
            _, messages = opening_messages(
                investigator.context, case.sequence, case.score, rendered
            )
            totals.append(count(messages, answer_next=True))
            prefixes.append(count(messages[:1], answer_next=False))
        own = [total - prefix for total, prefix in zip(totals, prefixes, strict=True)]
        rows.append(
            PromptSizeRow(
                version,
                len(totals),
                max(prefixes),
                statistics.median(totals),
                _p90(totals),
                max(totals),
                statistics.median(own),
            )
        )
    return rows


def _p90(values: list[int]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else float(values[0])


def prompt_size_table(rows: SequenceOf[PromptSizeRow], source: Path, model: str) -> str:
    lines = [
        f"first prompt of each flagged case of {source.name}, in {model}'s tokens",
        "| prompt | cases | shared prefix | median | p90 | largest | median after the prefix |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.version} | {row.cases} | {row.shared_prefix:,} | {row.median:,.0f} | "
        f"{row.p90:,.0f} | {row.largest:,} | {row.median_own:,.0f} |"
        for row in rows
    ]
    return "\n".join(lines)
