"""`fraudlens serve api`, `cases export` and `bench api`: the service's command functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    pass


def serve_api(
    host: Annotated[str | None, typer.Option(help="Default: settings.api_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings.api_port.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (screen, alerts, cases, chat) with uvicorn until Ctrl-C."""
    import uvicorn

    from agent.api.app import create_app
    from agent.api.log_masking import masked_log_config
    from agent.llm.endpoint import serve_model
    from agent.llm.server import ServerStartError
    from agent.settings import get_settings

    settings = get_settings()
    if not settings.api_keys:
        typer.echo(
            "warning: no API keys configured (settings.api_keys); every /v1 request gets 401. "
            "Add one as name, sha256 of the key, scopes (see the README's HTTP API section).",
            err=True,
        )
    try:
        with serve_model(settings) as served:
            uvicorn.run(
                create_app(served.settings),
                host=host or served.settings.api_host,
                port=port or served.settings.api_port,
                log_config=masked_log_config(log_level),
                log_level=log_level,
            )
    except ServerStartError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def export_cases(
    output: Annotated[Path, typer.Option("--output", "-o", help="FORMATS.md case file to write.")],
) -> None:
    """Write every case an analyst labelled (latest label wins) as FORMATS.md cases."""
    import json

    from tqdm import tqdm

    from agent.api.cases import labelled_case
    from agent.api.store import Store
    from agent.settings import get_settings

    settings = get_settings()
    if not settings.db_path.is_file():
        typer.echo(f"error: no API database at {settings.db_path}", err=True)
        raise typer.Exit(2)
    store = Store(settings.db_path)
    written = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out:
        for case_id in tqdm(store.labelled_case_ids(), desc="cases", unit="case", file=sys.stderr):
            case = labelled_case(store, case_id)
            if case is None:
                continue
            out.write(json.dumps(case.to_record(), ensure_ascii=False) + "\n")
            written += 1
    store.close()
    typer.echo(f"wrote {written} labelled cases to {output}")


def _user_records(events_path: Path, users: int) -> list[list[dict[str, Any]]]:
    from detectors.loading import read_events
    from detectors.sequences import group_sequences

    events, report = read_events(events_path)
    report.print_to(sys.stderr, max_problems=3)
    sequences = [sequence for sequence in group_sequences(events) if sequence.events][:users]
    if not sequences:
        raise typer.BadParameter(f"{events_path} has 0 usable sequences", param_hint="--events")
    return [[event.to_record() for event in sequence.events] for sequence in sequences]


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
    import asyncio
    import json
    import os
    import secrets
    import tempfile

    from agent.api.auth import hash_key
    from agent.api.bench import HEADER, BenchPlan, FallbackTally, api_process, run_scenarios
    from agent.llm.server import find_free_port
    from agent.settings import get_settings

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
        plan = BenchPlan(requests, batch_users, batches, alerts, concurrency)
        try:
            with api_process(env, find_free_port("127.0.0.1")) as url:
                results = asyncio.run(run_scenarios(url, key, sequences, plan, fallbacks))
        except RuntimeError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
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
