"""The OpenAI-compatible facade, with the official openai SDK as the client."""

from __future__ import annotations

import httpx
import openai
import pytest
from api_doubles import CHAT_ANSWER, card_testing_events
from api_server import RunningServer
from conftest import READ_KEY, WRITE_HEADERS, WRITE_KEY


@pytest.fixture
def case_id(client: httpx.Client) -> str:
    client.post(
        "/v1/alerts",
        json={"alert_id": "sdk-case", "events": card_testing_events("sdk")},
        headers=WRITE_HEADERS,
    )
    return "sdk-case"


def sdk(server: RunningServer, key: str = WRITE_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def test_completion_answers_about_the_case(scripted_server: RunningServer, case_id: str) -> None:
    completion = sdk(scripted_server, READ_KEY).chat.completions.create(
        model=f"case:{case_id}",
        messages=[{"role": "user", "content": "What happened here?"}],
    )
    assert completion.choices[0].message.content == CHAT_ANSWER
    assert completion.model == f"case:{case_id}"


def test_streamed_completion_joins_to_the_answer(
    scripted_server: RunningServer, case_id: str
) -> None:
    stream = sdk(scripted_server).chat.completions.create(
        model=f"case:{case_id}",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "What happened?"},
            {"role": "assistant", "content": "Card testing."},
            {"role": "user", "content": "Which events?"},
        ],
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len(pieces) > 2
    assert "".join(pieces) == CHAT_ANSWER


def test_unknown_case_is_a_not_found_error(scripted_server: RunningServer) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(scripted_server).chat.completions.create(
            model="case:nope", messages=[{"role": "user", "content": "hi"}]
        )
    assert "nope" in caught.value.message


def test_unknown_key_is_refused(scripted_server: RunningServer, case_id: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(scripted_server, "not-a-key").chat.completions.create(
            model=f"case:{case_id}", messages=[{"role": "user", "content": "hi"}]
        )
