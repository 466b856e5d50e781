"""A bounded load on a loopback API server: throughput and latency percentiles per scenario."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np


@dataclass(slots=True)
class BenchResult:
    name: str
    requests: int
    errors: int
    wall_s: float
    latencies_s: list[float]
    users_per_request: int = 1
    first_error: str | None = None

    @property
    def counts(self) -> bool:
        """A figure is reported only when every request succeeded."""
        return self.errors == 0 and bool(self.latencies_s)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q) * 1000) if self.latencies_s else 0.0

    def row(self) -> str:
        if not self.counts:
            return (
                f"{self.name:<28} {self.requests:>6} {self.errors:>6}  "
                f"NOT COUNTED: {self.errors} errors (first: {self.first_error})"
            )
        rate = self.requests / self.wall_s
        p50, p95, p99 = (self.percentile_ms(q) for q in (50, 95, 99))
        return (
            f"{self.name:<28} {self.requests:>6} {self.errors:>6} {rate:>9.2f} "
            f"{rate * self.users_per_request:>9.1f} {p50:>9.1f} {p95:>9.1f} {p99:>9.1f}"
        )


HEADER = (
    f"{'scenario':<28} {'reqs':>6} {'errors':>6} {'req/s':>9} {'users/s':>9} "
    f"{'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
)

RequestBuilder = Callable[[int], tuple[str, dict[str, Any]]]
"""Request number → (path, JSON body)."""
ResponseCheck = Callable[[httpx.Response], str | None]
"""A response → why it counts as an error, or None."""


def ok_status(response: httpx.Response) -> str | None:
    if response.status_code >= 400:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


async def run_load(
    client: httpx.AsyncClient,
    name: str,
    build: RequestBuilder,
    count: int,
    concurrency: int,
    check: ResponseCheck = ok_status,
    users_per_request: int = 1,
) -> BenchResult:
    """`count` POSTs, at most `concurrency` in flight; every latency and error recorded."""
    slots = asyncio.Semaphore(concurrency)
    result = BenchResult(name, count, 0, 0.0, [], users_per_request)

    async def one(number: int) -> None:
        path, body = build(number)
        async with slots:
            started = time.perf_counter()
            try:
                response = await client.post(path, json=body)
                problem = check(response)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            elapsed = time.perf_counter() - started
        if problem is None:
            result.latencies_s.append(elapsed)
        else:
            result.errors += 1
            result.first_error = result.first_error or problem

    started = time.perf_counter()
    await asyncio.gather(*(one(number) for number in range(count)))
    result.wall_s = time.perf_counter() - started
    return result
