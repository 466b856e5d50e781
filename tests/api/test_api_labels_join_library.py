"""Feedback closes the loop: an analyst's label joins the agent's few-shot library at once,
a second label of the same case replaces the first, and labels survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from api_doubles import ScriptedChatModel, card_testing_events, make_investigator
from conftest import READ_HEADERS, WRITE_HEADERS, api_settings, start_server
from fastapi import FastAPI

from agent.settings import Settings


def _library(server_app: FastAPI) -> list[str]:
    service = server_app.state.service
    return [example.case.case_id for example in service.investigator.context.library.examples]


def test_a_label_is_retrieved_from_the_next_case_on(tmp_path: Path, detector_dir: Path) -> None:
    settings: Settings = api_settings(tmp_path, detector_dir)
    server = start_server(settings, ScriptedChatModel(), make_investigator)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            events = card_testing_events("lab")
            alert = {"alert_id": "a-lab", "events": events}
            assert client.post("/v1/alerts", json=alert, headers=WRITE_HEADERS).status_code < 300
            before = _library(server.app)
            label = {"fraud_type": "payment_fraud", "action": "hold_order", "note": "first look"}
            first = client.post("/v1/cases/a-lab/feedback", json=label, headers=WRITE_HEADERS)
            assert first.status_code == 201, first.text
            assert first.json()["library_version"].endswith(first_label := _label_source(first))
            assert _library(server.app) == [*before, "a-lab"]

            relabel = {"fraud_type": "card_testing", "action": "block_account", "note": "sure"}
            second = client.post("/v1/cases/a-lab/feedback", json=relabel, headers=WRITE_HEADERS)
            version = second.json()["library_version"]
            assert first_label not in version and version.count("label:a-lab@") == 1
            assert _library(server.app) == [*before, "a-lab"]
            service = server.app.state.service
            similar = service.investigator.similar_cases(
                service.investigator.context.library.examples[-1].sequence, k=1
            )
            assert similar[0].example.case.case_id == "a-lab"
            assert similar[0].example.answer.fraud_type == "card_testing"
            case = client.get("/v1/cases/a-lab", headers=READ_HEADERS).json()
            assert [entry["fraud_type"] for entry in case["feedback"]] == [
                "payment_fraud",
                "card_testing",
            ]
    finally:
        server.stop()

    restarted = start_server(settings, ScriptedChatModel(), make_investigator)
    try:
        library = restarted.app.state.service.investigator.context.library
        assert library.examples[-1].case.case_id == "a-lab"
        assert library.examples[-1].answer.fraud_type == "card_testing"
        assert library.version == version
    finally:
        restarted.stop()


def _label_source(response: httpx.Response) -> str:
    version: str = response.json()["library_version"]
    source = version.split(" + ")[-1]
    if not source.startswith("label:a-lab@"):
        pytest.fail(f"the label is not the library's newest source: {version}")
    return source
