"""Every model-backed endpoint against the real local model server (smollm2-135m on vLLM),
through the production wiring (`create_app(settings)` with no test doubles)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from api_doubles import card_testing_events
from api_server import RunningServer
from api_sse import ask
from conftest import READ_HEADERS, READ_KEY, WRITE_HEADERS, api_settings

from agent.api.app import create_app
from agent.llm.probe import ServerSpeed
from agent.llm.server import LocalModelServer

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def llm_server(
    tmp_path_factory: pytest.TempPathFactory,
    detector_dir: Path,
    local_llm: LocalModelServer,
    local_llm_speed: ServerSpeed,
) -> Iterator[RunningServer]:
    settings = api_settings(
        tmp_path_factory.mktemp("api-llm"),
        detector_dir,
        llm_base_url=local_llm.base_url,
        llm_model=local_llm.model,
        chat_max_tokens=60,
        llm_prefill_tok_s=local_llm_speed.prefill_tok_s,
        llm_decode_tok_s=local_llm_speed.decode_tok_s,
    )
    server = RunningServer(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_client(llm_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=llm_server.url, timeout=300) as client:
        response = client.post(
            "/v1/alerts",
            json={"alert_id": "real-1", "events": card_testing_events("real")},
            headers=WRITE_HEADERS,
        )
        assert response.status_code == 200, response.text
        yield client


def test_ready_with_the_model_server(llm_client: httpx.Client) -> None:
    response = llm_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_alert_verdict_comes_from_the_real_model(llm_client: httpx.Client) -> None:
    alert = llm_client.get("/v1/alerts/real-1", headers=READ_HEADERS).json()
    verdict = alert["verdict"]
    assert verdict["model"] == "smollm2-135m"
    assert verdict["llm_calls"] >= 1
    assert verdict["prompt_tokens"] > 0
    assert verdict["completion_tokens"] > 0
    assert alert["status"] == "done"  # the model answered: no retry, even if validation failed


def test_chat_streams_the_real_model_answer(llm_client: httpx.Client) -> None:
    events = ask(llm_client, "real-1", "Why was this user flagged?")
    tokens = [data["text"] for kind, data in events if kind == "token"]
    assert events[-1][0] == "done"
    assert len(tokens) > 1
    assert "".join(tokens) == events[-1][1]["content"]
    # Real token streaming: pieces of varying length, not one answer cut into equal chunks.
    assert len({len(token) for token in tokens[:-1]}) > 1


def test_openai_sdk_streams_from_the_real_model(llm_server: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{llm_server.url}/v1", api_key=READ_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="case:real-1",
        messages=[{"role": "user", "content": "Summarise this case in one sentence."}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip()
