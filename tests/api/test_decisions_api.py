"""Approving or rejecting a held verdict over HTTP: the agent resumes, the audit names the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_doubles import ScriptedChatModel, card_testing_events, make_investigator
from api_server import RunningServer
from conftest import READ_HEADERS, WRITE_HEADERS, api_settings, start_server


@pytest.fixture(scope="module")
def approval_client(
    tmp_path_factory: pytest.TempPathFactory, detector_dir: Path
) -> Iterator[httpx.Client]:
    # The scripted model proposes hold_order; this server holds it for an analyst.
    settings = api_settings(
        tmp_path_factory.mktemp("approvals"), detector_dir, require_approval_for=["hold_order"]
    )
    server: RunningServer = start_server(settings, ScriptedChatModel(), make_investigator)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http
    server.stop()


def held_alert(client: httpx.Client, alert_id: str) -> dict:
    response = client.post(
        "/v1/alerts",
        json={"alert_id": alert_id, "events": card_testing_events(f"user-{alert_id}")},
        headers=WRITE_HEADERS,
    )
    assert response.status_code == 200
    verdict = response.json()["verdict"]
    assert verdict["awaiting_approval"] == "hold_order"
    assert verdict["action"] == "manual_review"
    return verdict


def test_approval_resumes_the_agent_and_is_audited(approval_client: httpx.Client) -> None:
    held_alert(approval_client, "approve-1")
    response = approval_client.post(
        "/v1/cases/approve-1/approval",
        json={"approved": True, "note": "two declines from one ip"},
        headers=WRITE_HEADERS,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["actor"] == "analyst"
    assert body["verdict"]["action"] == "hold_order"
    assert body["verdict"]["awaiting_approval"] is None
    assert any("approved by analyst" in note for note in body["verdict"]["policy_notes"])
    case = approval_client.get("/v1/cases/approve-1", headers=READ_HEADERS).json()
    assert case["verdict"]["action"] == "hold_order"
    decisions = [entry for entry in case["audit"] if entry["action"] == "verdict.approve"]
    assert [(entry["actor"], entry["detail"]["action"]) for entry in decisions] == [
        ("analyst", "hold_order")
    ]


def test_rejection_takes_the_analysts_action(approval_client: httpx.Client) -> None:
    held_alert(approval_client, "reject-1")
    response = approval_client.post(
        "/v1/cases/reject-1/approval",
        json={"approved": False, "action_if_rejected": "monitor"},
        headers=WRITE_HEADERS,
    )
    assert response.status_code == 200, response.text
    assert response.json()["verdict"]["action"] == "monitor"
    audit = approval_client.get("/v1/cases/reject-1", headers=READ_HEADERS).json()["audit"]
    assert "verdict.reject" in [entry["action"] for entry in audit]


def test_second_decision_is_a_conflict(approval_client: httpx.Client) -> None:
    held_alert(approval_client, "twice-1")
    first = approval_client.post(
        "/v1/cases/twice-1/approval", json={"approved": True}, headers=WRITE_HEADERS
    )
    assert first.status_code == 200
    second = approval_client.post(
        "/v1/cases/twice-1/approval", json={"approved": False}, headers=WRITE_HEADERS
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "not_awaiting_approval"


def test_read_key_cannot_approve(approval_client: httpx.Client) -> None:
    held_alert(approval_client, "read-1")
    response = approval_client.post(
        "/v1/cases/read-1/approval", json={"approved": True}, headers=READ_HEADERS
    )
    assert response.status_code == 403
    case = approval_client.get("/v1/cases/read-1", headers=READ_HEADERS).json()
    assert case["verdict"]["awaiting_approval"] == "hold_order"


def test_unknown_case_is_404(approval_client: httpx.Client) -> None:
    response = approval_client.post(
        "/v1/cases/no-such-case/approval", json={"approved": True}, headers=WRITE_HEADERS
    )
    assert response.status_code == 404
