"""`fraudlens bench llm` arithmetic: vLLM's prefix-cache counters, the hit rate, the table."""

from __future__ import annotations

from agent.llm.bench import LlmBenchRow, bench_table, hit_rate, prefix_cache_counters

METRICS = """\
# HELP vllm:prefix_cache_queries Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 4000.0
vllm:prefix_cache_queries_created{engine="0",model_name="m"} 1.79e+09
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 1500.0
vllm:external_prefix_cache_hits_total{engine="0",model_name="m"} 99.0
"""


def test_counters_are_read_from_vllm_metrics() -> None:
    assert prefix_cache_counters(METRICS) == (4000.0, 1500.0)
    assert prefix_cache_counters("# not a vLLM server\nup 1\n") is None


def test_hit_rate_counts_only_the_run() -> None:
    assert hit_rate((4000.0, 1500.0), (10000.0, 6000.0)) == 0.75
    assert hit_rate(None, (1.0, 1.0)) is None
    assert hit_rate((5.0, 1.0), (5.0, 1.0)) is None  # nothing was asked during the run


def test_table_has_one_row_per_model_with_dashes_for_the_unknown() -> None:
    row = LlmBenchRow(
        model="qwen2.5-1.5b",
        start="qwen2.5-1.5b, float32, 2 cores (0-1)",
        startup_s=None,
        prefill_tok_s=None,
        decode_tok_s=4.25,
        concurrency=2,
        cases=8,
        fallbacks=0,
        median_prompt_tokens=1480,
        latency_p50_s=61.2,
        latency_p95_s=90.0,
        verdicts_per_hour=95.4,
        prefix_cache_hit_rate=0.62,
    )
    lines = bench_table([row]).splitlines()
    assert len(lines) == 3
    assert lines[2] == "| qwen2.5-1.5b | – | – | 4.2 | 2 | 8 (0) | 1480 | 61 s / 90 s | 95 | 62% |"
    assert lines[1].count("---") == lines[0].count("|") - 1
