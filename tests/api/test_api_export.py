"""`fraudlens cases export`: labelled cases written in the FORMATS.md case format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_doubles import card_testing_events, legit_events

from agent.api.api_cli import export_cases
from agent.api.store import Store
from agent.settings import get_settings
from detectors.events import parse_event
from detectors.loading import read_cases


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "api.sqlite"
    monkeypatch.setenv("FRAUDLENS_DB_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def records(raw: list[dict[str, object]]) -> list[dict[str, object]]:
    return [parse_event(record).to_record() for record in raw]


def test_export_writes_labelled_cases_only(db_path: Path, tmp_path: Path) -> None:
    store = Store(db_path)
    store.create_alert("c-fraud", "mallory", records(card_testing_events("mallory")), "analyst")
    store.create_alert("c-unlabelled", "alice", records(legit_events("alice")), "analyst")
    store.add_feedback("c-fraud", "payment_fraud", "hold_order", "first look", "analyst")
    store.add_feedback("c-fraud", "card_testing", "block_account", "confirmed", "lead")
    store.close()

    output = tmp_path / "labelled.jsonl"
    export_cases(output)

    cases, report = read_cases(output)
    assert report.rejected == 0
    assert [case.case_id for case in cases] == ["c-fraud"]
    case = cases[0]
    assert (case.fraud_type, case.acceptable_actions, case.notes) == (
        "card_testing",
        ["block_account"],
        "confirmed",
    )
    assert len(case.events) == 9
    assert case.extra["labelled_by"] == "lead"
