"""The case chat's tools over a stored case, with the tiny detector."""

from __future__ import annotations

import asyncio
from pathlib import Path

from api_doubles import card_testing_events, legit_events

from agent.api.store import Store
from agent.case_chat.tools import CaseMaterial, ToolCall, load_case_sequence, run_tool
from detectors.detector import load_detector
from detectors.events import parse_event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence


def stored_case(tmp_path: Path, detector_dir: Path) -> CaseMaterial:
    store = Store(tmp_path / "api.sqlite")
    for case_id, events in (
        ("c-main", card_testing_events("mallory")),
        ("c-alike", card_testing_events("trudy")),
        ("c-other", legit_events("alice")),
    ):
        records = [parse_event(event).to_record() for event in events]
        store.create_alert(case_id, events[0]["user_id"], records, "analyst")
    store.add_feedback("c-alike", "card_testing", "block_account", None, "analyst")
    detector = load_detector(detector_dir)

    async def rescore(sequences: list[Sequence]) -> list[SequenceScore]:
        return await asyncio.to_thread(detector.explain, sequences)

    sequence = load_case_sequence(store, "c-main")
    assert sequence is not None
    [score] = detector.explain([sequence])
    return CaseMaterial("c-main", sequence, score, store, rescore)


def test_rescore_without_reports_both_scores(tmp_path: Path, detector_dir: Path) -> None:
    case = stored_case(tmp_path, detector_dir)
    text = asyncio.run(run_tool(ToolCall(name="rescore_without", event_ids=["e1", "e99"]), case))
    assert text.startswith("## rescore_without\nwithout e1: score ")
    assert f"was {case.score.score:.3f} with all 9 events" in text
    assert "ignored unknown ids: e99" in text


def test_similar_cases_lists_past_cases_with_labels(tmp_path: Path, detector_dir: Path) -> None:
    case = stored_case(tmp_path, detector_dir)
    text = asyncio.run(run_tool(ToolCall(name="similar_cases"), case))
    lines = text.splitlines()[1:]
    assert {line.split(":")[0] for line in lines} == {"- past case c-alike", "- past case c-other"}
    assert "analyst label card_testing" in text
    assert "c-main" not in text


def test_detector_reasons_and_verdict(tmp_path: Path, detector_dir: Path) -> None:
    case = stored_case(tmp_path, detector_dir)
    reasons = asyncio.run(run_tool(ToolCall(name="detector_reasons"), case))
    verdict = asyncio.run(run_tool(ToolCall(name="current_verdict"), case))
    assert reasons.count("\n- e") == 5
    assert verdict == "## current_verdict\nno verdict yet"
