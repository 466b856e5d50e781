"""The case chat over real HTTP: the SSE stream, tools, the persisted thread."""

from __future__ import annotations

import httpx
from api_doubles import CHAT_ANSWER, card_testing_events
from api_sse import ask
from conftest import READ_HEADERS, WRITE_HEADERS


def test_answer_streams_with_tools_then_done(client: httpx.Client) -> None:
    client.post(
        "/v1/alerts",
        json={"alert_id": "chat-1", "events": card_testing_events("chatty")},
        headers=WRITE_HEADERS,
    )
    events = ask(client, "chat-1", "Why was this flagged?")
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "tool" and events[0][1]["name"] == "detector_reasons"
    assert kinds.count("token") > 1
    assert kinds[-1] == "done"
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert streamed == events[-1][1]["content"] == CHAT_ANSWER
    case = client.get("/v1/cases/chat-1", headers=READ_HEADERS).json()
    assert [message["role"] for message in case["messages"]] == ["user", "assistant"]
    assert [message["prompt_version"] for message in case["messages"]] == [None, "case_chat_v1"]
    assert case["thread_turns"] == 2
    assert "message.add" in [entry["action"] for entry in case["audit"]]


def test_second_question_continues_the_thread(client: httpx.Client) -> None:
    client.post(
        "/v1/alerts",
        json={"alert_id": "chat-2", "events": card_testing_events("chatty2")},
        headers=WRITE_HEADERS,
    )
    ask(client, "chat-2", "first question")
    ask(client, "chat-2", "second question")
    case = client.get("/v1/cases/chat-2", headers=READ_HEADERS).json()
    assert case["thread_turns"] == 4


def test_question_about_unknown_case_is_404_before_streaming(client: httpx.Client) -> None:
    response = client.post(
        "/v1/cases/unknown-case/messages", json={"content": "hi"}, headers=WRITE_HEADERS
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
