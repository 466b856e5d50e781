"""The local vLLM server: answers, honours a JSON schema, fails loudly, stops without orphans."""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any, Literal

import httpx
import psutil
import pytest
from pydantic import BaseModel

from agent.case_schema import without_types
from agent.llm.server import LocalModelServer, ServerStartError
from agent.settings import Settings, get_settings

SMALLEST_MODEL = "smollm2-135m"


class ToyVerdict(BaseModel):
    suspicious: bool
    action: Literal["allow", "manual_review", "block_account"]


TOY_SCHEMA = ToyVerdict.model_json_schema()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _live_group_members(group: int) -> list[int]:
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            alive = process.info["status"] != psutil.STATUS_ZOMBIE
            if alive and os.getpgid(process.pid) == group:
                members.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def test_port_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = LocalModelServer(get_settings(), model=SMALLEST_MODEL, port=port)
        with pytest.raises(ServerStartError, match=str(port)):
            server.start()
        assert server.pid is None


def _ask(
    server: LocalModelServer, content: str, schema: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    """One greedy chat completion held to `schema`: the response's first choice."""
    response = httpx.post(
        f"{server.base_url}/chat/completions",
        json={
            "model": server.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            },
        },
        timeout=300,
    )
    response.raise_for_status()
    choice: dict[str, Any] = response.json()["choices"][0]
    return choice


@pytest.mark.llm
def test_server_lists_model_and_answers_within_json_schema(local_llm: LocalModelServer) -> None:
    models = httpx.get(f"{local_llm.base_url}/models", timeout=10).json()
    assert [entry["id"] for entry in models["data"]] == [local_llm.model]

    choice = _ask(local_llm, "A new account bought 9 phones. Verdict?", TOY_SCHEMA, 60)
    assert choice["finish_reason"] == "stop"
    ToyVerdict.model_validate_json(choice["message"]["content"])


@pytest.mark.llm
def test_the_closed_retry_holds_its_explanation_to_its_length_after_a_plain_answer(
    local_llm: LocalModelServer,
) -> None:
    """The engine compiles every schema with the backend of its first structured request
    (xgrammar, for a plain answer), which ignores a length bound beside a pattern: the closed
    retry's schema bounds its explanation inside the pattern, so a model asked for an essay
    still ends a valid answer within the length (the old schema ran on to the token limit)."""
    _ask(local_llm, "A new account bought 9 phones. Verdict?", TOY_SCHEMA, 60)
    essay = (
        "Write a very long explanation, at least 300 words, of why a shopper who viewed 60 "
        "items in 5 minutes is or is not a bot, as a verdict JSON object with explanation, "
        "evidence, fraud_type, confidence and action."
    )
    choice = _ask(local_llm, essay, without_types([], {"scraping_bot"}, 200, 3), 300)
    assert choice["finish_reason"] == "stop", choice["message"]["content"][-200:]
    answer = json.loads(choice["message"]["content"])
    assert answer["fraud_type"] != "scraping_bot"
    assert 0 < len(answer["explanation"]) <= 200


@pytest.mark.llm
def test_terminated_owner_leaves_no_process_and_frees_its_port() -> None:
    # `kill PID` of the process that started the server (SIGTERM) must stop vLLM too.
    previous = signal.getsignal(signal.SIGTERM)
    server = LocalModelServer(get_settings(), model=SMALLEST_MODEL, port=0)
    with pytest.raises(KeyboardInterrupt), server:
        group = server.pid
        assert httpx.get(f"{server.base_url}/models", timeout=10).status_code == 200
        os.kill(os.getpid(), signal.SIGTERM)

    assert signal.getsignal(signal.SIGTERM) is previous
    assert group is not None
    assert _live_group_members(group) == []
    assert not _port_open(server.port)


@pytest.mark.llm
def test_server_that_exits_at_start_reports_its_log() -> None:
    # Longer than the model's 8192 positions: vLLM refuses the configuration and exits.
    settings = Settings(llm_max_model_len=10**6)
    server = LocalModelServer(settings, model=SMALLEST_MODEL, port=0)

    with pytest.raises(ServerStartError, match="exited with code") as raised:
        server.start()

    assert "max_model_len" in str(raised.value).lower() or "max-model-len" in str(raised.value)
    assert server.pid is None
    assert not _port_open(server.port)
