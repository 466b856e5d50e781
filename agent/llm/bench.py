"""`fraudlens bench llm`: one served model measured end to end on a fixed set of flagged cases
(start-up, probe speeds, verdict latency, verdicts per hour, prefix-cache hit rate)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.context import Screener
from agent.investigator import FlaggedCase, Investigator
from agent.llm.client import OpenAIChatModel
from agent.llm.endpoint import serve_model
from agent.settings import Settings
from agent.verdict import Verdict


@dataclass(frozen=True, slots=True)
class LlmBenchRow:
    """One model's figures on this machine."""

    model: str
    start: str
    """How the server started (dtype, cores, …), or the configured endpoint's URL."""
    startup_s: float | None
    prefill_tok_s: float | None
    decode_tok_s: float | None
    concurrency: int
    cases: int
    fallbacks: int
    median_prompt_tokens: float
    latency_p50_s: float
    latency_p95_s: float
    verdicts_per_hour: float
    prefix_cache_hit_rate: float | None
    """Share of prompt tokens served from vLLM's prefix cache during the run (its /metrics)."""


@dataclass(frozen=True, slots=True)
class _Timed:
    verdict: Verdict
    seconds: float


def bench_model(
    settings: Settings, detector: Screener, cases: SequenceOf[FlaggedCase]
) -> LlmBenchRow:
    """Serve settings.llm_model (or the configured endpoint), probe it, then investigate every
    case afresh at the chosen concurrency, timing each verdict."""
    with (
        serve_model(settings, probe_endpoint=True) as served,
        tempfile.TemporaryDirectory() as scratch,
    ):
        chat = OpenAIChatModel.from_settings(served.settings)
        investigator = Investigator(
            served.settings, chat, detector, checkpoint_path=Path(scratch) / "bench.sqlite"
        )
        workers = served.settings.concurrency
        metrics_url = str(served.settings.llm_base_url).removesuffix("/v1") + "/metrics"
        before = _prefix_cache_counters(metrics_url)
        started = time.perf_counter()
        timed = asyncio.run(_investigate_timed(investigator, chat, cases, workers))
        wall_s = time.perf_counter() - started
        after = _prefix_cache_counters(metrics_url)
        server = served.server
    latencies = sorted(result.seconds for result in timed)
    return LlmBenchRow(
        model=settings.llm_model,
        start=server.plan.describe() if server and server.plan else str(settings.llm_base_url),
        startup_s=server.ready_after_s if server else None,
        prefill_tok_s=served.speed.prefill_tok_s if served.speed else None,
        decode_tok_s=served.speed.decode_tok_s if served.speed else None,
        concurrency=workers,
        cases=len(timed),
        fallbacks=sum(result.verdict.is_fallback for result in timed),
        median_prompt_tokens=statistics.median(r.verdict.prompt_tokens for r in timed),
        latency_p50_s=_quantile(latencies, 0.50),
        latency_p95_s=_quantile(latencies, 0.95),
        verdicts_per_hour=len(timed) / wall_s * 3600,
        prefix_cache_hit_rate=hit_rate(before, after),
    )


async def _investigate_timed(
    investigator: Investigator,
    chat: OpenAIChatModel,
    cases: SequenceOf[FlaggedCase],
    workers: int,
) -> list[_Timed]:
    slots = asyncio.Semaphore(workers)

    async def one(case: FlaggedCase) -> _Timed:
        async with slots:
            started = time.perf_counter()
            verdict = await investigator.investigate(case.case_id, case.sequence, case.score)
            return _Timed(verdict, time.perf_counter() - started)

    try:
        return list(await asyncio.gather(*(one(case) for case in cases)))
    finally:
        await chat.aclose()


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of an ascending list."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _prefix_cache_counters(metrics_url: str) -> tuple[float, float] | None:
    """(queried, hit) prompt tokens so far from vLLM's Prometheus metrics; None elsewhere."""
    try:
        response = httpx.get(metrics_url, timeout=10.0)
    except httpx.HTTPError:
        return None
    return prefix_cache_counters(response.text) if response.is_success else None


def prefix_cache_counters(metrics_text: str) -> tuple[float, float] | None:
    """(queried, hit) prompt-token totals in a Prometheus text page, summed over engines."""
    totals = {"vllm:prefix_cache_queries_total": 0.0, "vllm:prefix_cache_hits_total": 0.0}
    found = False
    for line in metrics_text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
            found = True
    if not found:
        return None
    return totals["vllm:prefix_cache_queries_total"], totals["vllm:prefix_cache_hits_total"]


def hit_rate(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


def bench_table(rows: SequenceOf[LlmBenchRow]) -> str:
    """The rows as one Markdown table."""
    header = (
        "| model | start-up | prefill tok/s | decode tok/s | at once | cases (fallbacks) "
        "| median prompt tok | verdict p50 / p95 | verdicts/hour | prefix-cache hits |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for row in rows:
        lines.append(
            f"| {row.model} | {_seconds(row.startup_s)} | {_number(row.prefill_tok_s)} "
            f"| {_number(row.decode_tok_s, 1)} | {row.concurrency} | {row.cases} ({row.fallbacks}) "
            f"| {row.median_prompt_tokens:.0f} | {row.latency_p50_s:.0f} s / "
            f"{row.latency_p95_s:.0f} s | {row.verdicts_per_hour:.0f} "
            f"| {_percent(row.prefix_cache_hit_rate)} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


def _number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"
