"""A bounded load on a loopback API server: throughput and latency percentiles per scenario."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

SERVER_START_TIMEOUT_S = 900.0
"""Includes pulling and starting the local model server when llm_base_url is unset."""


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


class FallbackTally:
    """Fallback verdicts are answers (manual_review), not errors; they are reported beside."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def check(self, response: httpx.Response) -> str | None:
        if response.status_code >= 400:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        verdict = response.json()["verdict"]
        if verdict is None:
            return "no verdict in the answer"
        if verdict["fallback_reason"]:
            self.reasons.append(verdict["fallback_reason"])
        return None


@dataclass(frozen=True, slots=True)
class BenchPlan:
    requests: int
    batch_users: int
    batches: int
    alerts: int
    concurrency: int


async def run_scenarios(
    url: str,
    key: str,
    sequences: list[list[dict[str, Any]]],
    plan: BenchPlan,
    fallbacks: FallbackTally,
) -> list[BenchResult]:
    requests, batch_users, concurrency = plan.requests, plan.batch_users, plan.concurrency
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx.Timeout(600.0)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout, limits=limits
    ) as client:
        count = len(sequences)

        def single(number: int) -> tuple[str, dict[str, Any]]:
            return "/v1/screen", {"events": sequences[number % count]}

        def batched(number: int) -> tuple[str, dict[str, Any]]:
            start = number * batch_users
            chosen = [sequences[(start + i) % count] for i in range(batch_users)]
            return "/v1/screen", {"events": [event for seq in chosen for event in seq]}

        def alert(number: int) -> tuple[str, dict[str, Any]]:
            alert_id = f"bench-{secrets.token_hex(6)}-{number}"
            return "/v1/alerts", {"alert_id": alert_id, "events": sequences[number % count]}

        await run_load(client, "warm-up", single, min(10, requests), 1)
        results = [
            await run_load(client, "screen, 1 user/request", single, requests, concurrency),
            await run_load(
                client,
                f"screen, {batch_users} users/request",
                batched,
                plan.batches,
                concurrency,
                users_per_request=batch_users,
            ),
        ]
        if plan.alerts:
            results.append(
                await run_load(
                    client, "alerts (verdict)", alert, plan.alerts, concurrency, fallbacks.check
                )
            )
        return results


@contextmanager
def api_process(env: dict[str, str], port: int) -> Iterator[str]:
    """`fraudlens serve api` as a child process (its own interpreter, as in production)."""
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "api"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API server exited with {process.returncode} at start-up")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"API server not up in {SERVER_START_TIMEOUT_S:.0f}s")
            time.sleep(0.25)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
