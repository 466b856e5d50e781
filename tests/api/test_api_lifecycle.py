"""Server lifecycle over real HTTP: restart persistence, and the model server being down."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from api_doubles import (
    CHAT_ANSWER,
    MODEL_ANSWER,
    ScriptedChatModel,
    SlowStreamingModel,
    SwitchableChatModel,
    card_testing_events,
    make_investigator,
)
from api_sse import ask
from conftest import READ_HEADERS, WRITE_HEADERS, api_settings, start_server

from agent.api.store import Store
from agent.llm.streaming import StreamingOpenAIChatModel
from detectors.events import parse_event


def test_case_and_thread_survive_a_restart(tmp_path: Path, detector_dir: Path) -> None:
    settings = api_settings(tmp_path, detector_dir)
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.post(
            "/v1/alerts",
            json={"alert_id": "keep-me", "events": card_testing_events("kept")},
            headers=WRITE_HEADERS,
        )
        ask(client, "keep-me", "What happened?")
        before = client.get("/v1/cases/keep-me", headers=READ_HEADERS).json()
    server.stop()

    server = start_server(settings, ScriptedChatModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        after = client.get("/v1/cases/keep-me", headers=READ_HEADERS).json()
        assert after == before
        assert after["thread_turns"] == 2
        ask(client, "keep-me", "And then?")
        assert client.get("/v1/cases/keep-me", headers=READ_HEADERS).json()["thread_turns"] == 4
        repeat = client.post(
            "/v1/alerts", json={"alert_id": "keep-me", "user_id": "kept"}, headers=WRITE_HEADERS
        ).json()
        assert repeat["verdict"] == before["verdict"]
    server.stop()


def test_model_server_down_gives_manual_review_marked_for_retry(
    tmp_path: Path, detector_dir: Path, unreachable_llm_url: str
) -> None:
    settings = api_settings(tmp_path, detector_dir, llm_base_url=unreachable_llm_url)
    model = StreamingOpenAIChatModel.from_settings(settings)
    server = start_server(settings, model, make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post(
            "/v1/alerts",
            json={"alert_id": "down-1", "events": card_testing_events("down")},
            headers=WRITE_HEADERS,
        )
        assert response.status_code == 200, response.text
        alert = response.json()
        assert alert["status"] == "retry"
        assert alert["verdict"]["action"] == "manual_review"
        assert unreachable_llm_url in alert["reason"]
        events = ask(client, "down-1", "Why?")
        assert events[-1][0] == "error"
        assert events[-1][1]["code"] == "model_unavailable"
        assert "fraudlens_fallbacks_total 2.0" in client.get("/metrics").text
    server.stop()


def test_fallback_verdict_is_replaced_when_the_model_returns(
    tmp_path: Path, detector_dir: Path
) -> None:
    settings = api_settings(tmp_path, detector_dir, api_retry_interval_s=0.2)
    model = SwitchableChatModel()
    server = start_server(settings, model, make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        first = client.post(
            "/v1/alerts",
            json={"alert_id": "flaky-1", "events": card_testing_events("flaky")},
            headers=WRITE_HEADERS,
        ).json()
        assert first["status"] == "retry"
        assert first["verdict"]["fallback_reason"]
        model.down = False
        deadline = time.monotonic() + 30
        alert = first
        while alert["status"] == "retry" and time.monotonic() < deadline:
            time.sleep(0.1)
            alert = client.get("/v1/alerts/flaky-1", headers=READ_HEADERS).json()
        assert alert["status"] == "done"
        assert alert["verdict"]["fallback_reason"] is None
        assert alert["verdict"]["case_id"] == "flaky-1"
        assert alert["verdict"]["fraud_type"] == MODEL_ANSWER["fraud_type"]
    server.stop()


def test_answer_is_completed_after_the_client_hangs_up(tmp_path: Path, detector_dir: Path) -> None:
    settings = api_settings(tmp_path, detector_dir)
    server = start_server(settings, SlowStreamingModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.post(
            "/v1/alerts",
            json={"alert_id": "hang-up", "events": card_testing_events("hang")},
            headers=WRITE_HEADERS,
        )
        with client.stream(
            "POST",
            "/v1/cases/hang-up/messages",
            json={"content": "Why?"},
            headers=WRITE_HEADERS,
        ) as response:
            first_line = next(response.iter_lines())
        assert first_line.startswith("event:")
        deadline = time.monotonic() + 30
        roles: list[str] = []
        while roles != ["user", "assistant"] and time.monotonic() < deadline:
            time.sleep(0.1)
            case = client.get("/v1/cases/hang-up", headers=READ_HEADERS).json()
            roles = [message["role"] for message in case["messages"]]
        assert roles == ["user", "assistant"]
        assert case["messages"][1]["content"].strip() == CHAT_ANSWER
        assert case["thread_turns"] == 2
    server.stop()


def test_alert_left_pending_by_a_stop_is_finished_after_start(
    tmp_path: Path, detector_dir: Path
) -> None:
    settings = api_settings(tmp_path, detector_dir, api_retry_interval_s=0.2)
    store = Store(settings.db_path)
    records = [parse_event(event).to_record() for event in card_testing_events("crash")]
    store.create_alert("crashed-1", "crash", records, "analyst")  # stored, never investigated
    store.close()
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deadline = time.monotonic() + 30
        alert = client.get("/v1/alerts/crashed-1", headers=READ_HEADERS).json()
        while alert["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
            alert = client.get("/v1/alerts/crashed-1", headers=READ_HEADERS).json()
        assert alert["status"] == "done"
        assert alert["verdict"]["fraud_type"] == MODEL_ANSWER["fraud_type"]
        audit = client.get("/v1/cases/crashed-1", headers=READ_HEADERS).json()["audit"]
        actions = [entry["action"] for entry in audit]
        assert actions == ["alert.create", "alert.retry", "verdict.save"]
    server.stop()
