"""Health, auth, limits, error envelope and screening over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from api_doubles import card_testing_events, legit_events
from conftest import READ_HEADERS, WRITE_HEADERS


def test_healthz_needs_no_key(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_the_unreachable_model_server(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert "127.0.0.1:9" in error["message"]


def test_missing_and_unknown_keys_are_401_with_envelope(client: httpx.Client) -> None:
    body = {"events": legit_events("u1")}
    missing = client.post("/v1/screen", json=body)
    unknown = client.post("/v1/screen", json=body, headers={"Authorization": "Bearer nope"})
    for response in (missing, unknown):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


def test_read_only_key_cannot_post_feedback(client: httpx.Client) -> None:
    response = client.post(
        "/v1/cases/c1/feedback",
        json={"fraud_type": "none", "action": "allow"},
        headers=READ_HEADERS,
    )
    assert response.status_code == 403
    assert "'write'" in response.json()["error"]["message"]


def test_screen_scores_each_user_with_top_events(client: httpx.Client) -> None:
    events = legit_events("alice") + card_testing_events("mallory")
    response = client.post("/v1/screen", json={"events": events, "top_k": 3}, headers=READ_HEADERS)
    assert response.status_code == 200, response.text
    results = {result["user_id"]: result for result in response.json()["results"]}
    assert set(results) == {"alice", "mallory"}
    assert results["mallory"]["events"] == 9
    assert len(results["mallory"]["top_events"]) == 3
    assert results["mallory"]["top_events"][0]["event_id"].startswith("e")
    assert results["alice"]["events"] == 7
    assert isinstance(results["mallory"]["flagged"], bool)


def test_malformed_json_is_400_with_position(client: httpx.Client) -> None:
    response = client.post(
        "/v1/screen",
        content=b'{"events": [}',
        headers={**READ_HEADERS, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert "character 12" in error["message"]


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    response = client.post(
        "/v1/screen",
        content=b" " * 2_000_001,
        headers={**READ_HEADERS, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "2000000" in response.json()["error"]["message"]


def test_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b" " * 500_000

    response = client.post(
        "/v1/screen", content=chunks(), headers={**READ_HEADERS, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_too_many_events_is_422_naming_limit_and_count(client: httpx.Client) -> None:
    events = [{"user_id": "bulk", "ts": 1_770_000_000 + i, "action": "view"} for i in range(5_001)]
    response = client.post("/v1/screen", json={"events": events}, headers=READ_HEADERS)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "5001 events" in message and "limit is 5000" in message


def test_invalid_event_names_the_field(client: httpx.Client) -> None:
    events = [{"user_id": "u", "ts": "yesterday", "action": "login"}]
    response = client.post("/v1/screen", json={"events": events}, headers=READ_HEADERS)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("events[0].ts:")


def test_schema_validation_errors_use_the_envelope(client: httpx.Client) -> None:
    response = client.post("/v1/alerts", json={"alert_id": ""}, headers=WRITE_HEADERS)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"][0]["loc"] == ["body", "alert_id"]


def test_unknown_route_is_404_envelope(client: httpx.Client) -> None:
    response = client.get("/v1/nothing", headers=READ_HEADERS)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
