"""Alerts over real HTTP: verdicts, idempotency, batches and jobs, feedback, the case view."""

from __future__ import annotations

import httpx
from api_doubles import MODEL_ANSWER, card_testing_events, legit_events
from conftest import READ_HEADERS, WRITE_HEADERS, wait_for_job


def test_alert_gets_a_verdict_persisted_before_work(client: httpx.Client) -> None:
    body = {"alert_id": "a-single", "events": card_testing_events("mallory")}
    response = client.post("/v1/alerts", json=body, headers=WRITE_HEADERS)
    assert response.status_code == 200, response.text
    alert = response.json()
    assert alert["status"] == "done"
    assert alert["verdict"]["fraud_type"] == MODEL_ANSWER["fraud_type"]
    assert alert["verdict"]["case_id"] == "a-single"
    audit = client.get("/v1/cases/a-single", headers=READ_HEADERS).json()["audit"]
    assert [entry["action"] for entry in audit] == ["alert.create", "verdict.save"]
    assert audit[0]["actor"] == "analyst"


def test_same_alert_twice_gives_one_verdict(client: httpx.Client) -> None:
    body = {"alert_id": "a-twice", "events": card_testing_events("m2")}
    first = client.post("/v1/alerts", json=body, headers=WRITE_HEADERS).json()
    changed = {"alert_id": "a-twice", "events": legit_events("someone-else")}
    second = client.post("/v1/alerts", json=changed, headers=WRITE_HEADERS).json()
    assert second == first
    audit = client.get("/v1/cases/a-twice", headers=READ_HEADERS).json()["audit"]
    assert [entry["action"] for entry in audit].count("verdict.save") == 1


def test_alert_by_user_id_reuses_stored_events(client: httpx.Client) -> None:
    client.post(
        "/v1/alerts",
        json={"alert_id": "a-first", "events": legit_events("repeat-user")},
        headers=WRITE_HEADERS,
    )
    response = client.post(
        "/v1/alerts",
        json={"alert_id": "a-by-user", "user_id": "repeat-user"},
        headers=WRITE_HEADERS,
    )
    assert response.status_code == 200, response.text
    case = client.get("/v1/cases/a-by-user", headers=READ_HEADERS).json()
    assert case["user_id"] == "repeat-user"
    assert len(case["events"]) == 7


def test_alert_for_unknown_user_is_404(client: httpx.Client) -> None:
    response = client.post(
        "/v1/alerts", json={"alert_id": "a-nobody", "user_id": "nobody"}, headers=WRITE_HEADERS
    )
    assert response.status_code == 404
    assert "nobody" in response.json()["error"]["message"]
    assert client.get("/v1/alerts/a-nobody", headers=READ_HEADERS).status_code == 404


def test_alert_with_two_users_is_422(client: httpx.Client) -> None:
    events = legit_events("x1") + legit_events("x2")
    response = client.post(
        "/v1/alerts", json={"alert_id": "a-two", "events": events}, headers=WRITE_HEADERS
    )
    assert response.status_code == 422
    assert "2 users" in response.json()["error"]["message"]


def test_batch_runs_as_a_job(client: httpx.Client) -> None:
    alerts = [
        {"alert_id": f"b-{index}", "events": card_testing_events(f"bu{index}")}
        for index in range(5)
    ]
    response = client.post("/v1/alerts:batch", json={"alerts": alerts}, headers=WRITE_HEADERS)
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "done"
    assert job["finished"] == job["total"] == 5
    types = {result["verdict"]["fraud_type"] for result in job["results"]}
    assert types == {MODEL_ANSWER["fraud_type"]}
    single = client.get("/v1/alerts/b-3", headers=READ_HEADERS).json()
    assert single["status"] == "done"


def test_batch_over_the_limit_is_422_naming_both_numbers(client: httpx.Client) -> None:
    alerts = [{"alert_id": f"big-{index}", "user_id": "u"} for index in range(201)]
    response = client.post("/v1/alerts:batch", json={"alerts": alerts}, headers=WRITE_HEADERS)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "201 alerts" in message and "limit is 200" in message


def test_feedback_is_stored_and_audited(client: httpx.Client) -> None:
    client.post(
        "/v1/alerts",
        json={"alert_id": "a-labelled", "events": card_testing_events("lab")},
        headers=WRITE_HEADERS,
    )
    label = {"fraud_type": "card_testing", "action": "block_account", "note": "confirmed"}
    response = client.post("/v1/cases/a-labelled/feedback", json=label, headers=WRITE_HEADERS)
    assert response.status_code == 201, response.text
    case = client.get("/v1/cases/a-labelled", headers=READ_HEADERS).json()
    assert case["feedback"][0]["action"] == "block_account"
    assert case["audit"][-1] | {"at": 0} == {
        "at": 0,
        "actor": "analyst",
        "action": "feedback.add",
        "subject": "a-labelled",
        "detail": {"fraud_type": "card_testing", "action": "block_account"},
    }


def test_feedback_on_unknown_case_is_404(client: httpx.Client) -> None:
    label = {"fraud_type": "none", "action": "allow"}
    response = client.post("/v1/cases/missing/feedback", json=label, headers=WRITE_HEADERS)
    assert response.status_code == 404


def test_metrics_count_routes_and_verdicts(client: httpx.Client) -> None:
    client.post(
        "/v1/alerts",
        json={"alert_id": "a-metrics", "events": card_testing_events("met")},
        headers=WRITE_HEADERS,
    )
    text = client.get("/metrics").text
    assert 'fraudlens_http_requests_total{method="POST",route="/v1/alerts",status="200"}' in text
    assert 'fraudlens_verdicts_total{action="hold_order",fraud_type="payment_fraud"}' in text
    assert "fraudlens_llm_seconds_count" in text
    assert "fraudlens_alert_queue_depth 0.0" in text
