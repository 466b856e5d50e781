"""`fraudlens serve api`, `cases export` and `bench api`: the service's command functions."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from tqdm import tqdm

from agent.api.app import create_app
from agent.api.auth import hash_key
from agent.api.bench import HEADER, BenchResult, run_load
from agent.api.log_masking import masked_log_config
from agent.api.store import Store
from agent.settings import Settings, get_settings
from detectors.cases import Case
from detectors.events import parse_event
from detectors.loading import read_events
from detectors.sequences import group_sequences

SERVER_START_TIMEOUT_S = 900.0
"""Includes pulling and starting the local model server when llm_base_url is unset."""


@contextmanager
def model_server_settings(settings: Settings) -> Iterator[Settings]:
    """The settings as given when llm_base_url is set; else a local vLLM server for the block."""
    if settings.llm_base_url:
        yield settings
        return
    from agent.llm_server import LocalModelServer, ServerStartError

    typer.echo(f"starting the local model server for {settings.llm_model} ...", err=True)
    server = LocalModelServer(settings)
    try:
        server.start()
    except ServerStartError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        yield settings.model_copy(update={"llm_base_url": server.base_url})
    finally:
        server.stop()


def serve_api(
    host: Annotated[str | None, typer.Option(help="Default: settings.api_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings.api_port.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (screen, alerts, cases, chat) with uvicorn until Ctrl-C."""
    settings = get_settings()
    if not settings.api_keys:
        typer.echo(
            "warning: no API keys configured (settings.api_keys); every /v1 request gets 401. "
            "Add one as name, sha256 of the key, scopes (see agent/api/README.md).",
            err=True,
        )
    with model_server_settings(settings) as served:
        uvicorn.run(
            create_app(served),
            host=host or served.api_host,
            port=port or served.api_port,
            log_config=masked_log_config(log_level),
            log_level=log_level,
        )


def export_cases(
    output: Annotated[Path, typer.Option("--output", "-o", help="FORMATS.md case file to write.")],
) -> None:
    """Write every case an analyst labelled (latest label wins) as FORMATS.md cases."""
    settings = get_settings()
    if not settings.db_path.is_file():
        typer.echo(f"error: no API database at {settings.db_path}", err=True)
        raise typer.Exit(2)
    store = Store(settings.db_path)
    written = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out:
        for case_id in tqdm(store.labelled_case_ids(), desc="cases", unit="case", file=sys.stderr):
            stored = store.get_case(case_id)
            if stored is None:
                continue
            label = store.feedback_of(case_id)[-1]
            case = Case(
                case_id=case_id,
                fraud_type=label["fraud_type"],
                acceptable_actions=[label["action"]],
                events=[parse_event(record) for record in stored.events],
                notes=label["note"],
                extra={"labelled_by": label["actor"], "labelled_at": label["created_at"]},
            )
            out.write(json.dumps(case.to_record(), ensure_ascii=False) + "\n")
            written += 1
    store.close()
    typer.echo(f"wrote {written} labelled cases to {output}")


def _user_records(events_path: Path, users: int) -> list[list[dict[str, Any]]]:
    events, report = read_events(events_path)
    report.print_to(sys.stderr, max_problems=3)
    sequences = [sequence for sequence in group_sequences(events) if sequence.events][:users]
    if not sequences:
        raise typer.BadParameter(f"{events_path} has 0 usable sequences", param_hint="--events")
    return [[event.to_record() for event in sequence.events] for sequence in sequences]


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


async def _bench(
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


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def _api_process(env: dict[str, str], port: int) -> Iterator[str]:
    """`fraudlens serve api` as a child process (its own interpreter, as in production)."""
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "api"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                typer.echo(f"error: the API server exited with {process.returncode}", err=True)
                raise typer.Exit(1)
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


def bench_api(
    events: Annotated[Path, typer.Option(help="FORMATS.md events file the requests are cut from.")],
    requests: Annotated[int, typer.Option(min=1, help="Single-user /v1/screen requests.")] = 300,
    batch_users: Annotated[int, typer.Option(min=1, help="Users per batched request.")] = 32,
    batches: Annotated[int, typer.Option(min=1, help="Batched /v1/screen requests.")] = 30,
    alerts: Annotated[int, typer.Option(min=0, help="/v1/alerts requests (real model).")] = 4,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 4,
) -> None:
    """Bounded load on a loopback server: req/s and p50/p95/p99 per scenario; zero errors or
    the figure does not count (exit 1)."""
    settings = get_settings()
    sequences = _user_records(events, max(requests, batch_users))
    key = secrets.token_urlsafe(24)
    api_keys = [{"name": "bench", "sha256": hash_key(key), "scopes": ["read", "write"]}]
    with tempfile.TemporaryDirectory(prefix="fraudlens-bench-") as scratch:
        env = {
            **os.environ,
            "FRAUDLENS_DB_PATH": str(Path(scratch) / "api.sqlite"),
            "FRAUDLENS_CHECKPOINT_DB": str(Path(scratch) / "checkpoints.sqlite"),
            "FRAUDLENS_API_KEYS": json.dumps(api_keys),
        }
        if not alerts and not settings.llm_base_url:
            # No model call happens in a screening-only run; the client just needs an address.
            env["FRAUDLENS_LLM_BASE_URL"] = "http://127.0.0.1:9/v1"
        fallbacks = FallbackTally()
        with _api_process(env, _free_port("127.0.0.1")) as url:
            plan = BenchPlan(requests, batch_users, batches, alerts, concurrency)
            results = asyncio.run(_bench(url, key, sequences, plan, fallbacks))
    model = f", model {settings.llm_model}" if alerts else ""
    typer.echo(f"fraudlens API at {url} (separate process), concurrency {concurrency}{model}")
    typer.echo(HEADER)
    for result in results:
        typer.echo(result.row())
    if fallbacks.reasons:
        typer.echo(
            f"fallback verdicts (manual_review): {len(fallbacks.reasons)} of {alerts}; "
            f"first reason: {fallbacks.reasons[0]}"
        )
    if not all(result.counts for result in results):
        raise typer.Exit(1)
