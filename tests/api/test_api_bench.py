"""The API benchmark's bookkeeping: percentiles, and a figure only when there were no errors."""

from __future__ import annotations

from agent.api.bench import BenchResult


def test_figure_counts_only_without_errors() -> None:
    clean = BenchResult("screen", 4, 0, 2.0, [0.01, 0.02, 0.03, 0.04])
    failed = BenchResult("screen", 4, 1, 2.0, [0.01, 0.02, 0.03], first_error="HTTP 500: boom")
    assert clean.counts and not failed.counts
    assert clean.percentile_ms(50) == 25.0
    assert "NOT COUNTED: 1 errors (first: HTTP 500: boom)" in failed.row()
    assert clean.row().split()[3:5] == ["2.00", "2.0"]


def test_users_per_second_scales_batched_requests() -> None:
    batched = BenchResult("screen", 10, 0, 5.0, [0.5] * 10, users_per_request=32)
    assert batched.row().split()[3:5] == ["2.00", "64.0"]
