"""read_events / read_cases: JSONL (plain and .gz), line-level rejects, counts, formats."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from detectors.adapters import FORMAT_NAMES
from detectors.loading import read_cases, read_events
from detectors.sequences import group_sequences

EVENTS: list[dict[str, Any]] = [
    {"user_id": "u1", "ts": "2026-03-02T14:05:00Z", "action": "purchase", "item_id": "i1"},
    {"user_id": "u2", "ts": 1772460000, "action": "login", "status": "success"},
    {"user_id": "u1", "ts": "2026-03-02T14:01:00Z", "action": "login"},
]


def write_lines(path: Path, lines: list[str]) -> Path:
    text = "".join(line + "\n" for line in lines)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def as_lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(record) for record in records]


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_plain_and_gzipped_jsonl_load_the_same_events(tmp_path: Path, name: str) -> None:
    events, report = read_events(write_lines(tmp_path / name, as_lines(EVENTS)))
    assert [event.to_record()["ts"] for event in events] == [
        "2026-03-02T14:05:00Z",
        "2026-03-02T14:00:00Z",
        "2026-03-02T14:01:00Z",
    ]
    assert (report.read, report.kept, report.rejected) == (3, 3, 0)


def test_bad_lines_are_reported_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    lines = [
        *as_lines(EVENTS[:1]),
        '{"user_id": "u1", "ts": ',
        "",
        json.dumps({"user_id": "u3", "action": "view"}),
        json.dumps({"user_id": "u3", "ts": "2026-03-02T14:00:00", "action": "view"}),
        "[1, 2]",
        *as_lines(EVENTS[1:]),
    ]
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    events, report = read_events(path)
    assert [event.user_id for event in events] == ["u1", "u2", "u1"]
    assert (report.read, report.kept, report.rejected) == (7, 3, 4)
    assert [problem.line for problem in report.problems] == [2, 4, 5, 6]
    assert all(problem.path == str(path) for problem in report.problems)
    assert "not valid JSON" in report.problems[0].message
    assert report.problems[1].message.startswith("ts: ")
    assert str(report.problems[1]).startswith(f"{path}:4: ts: ")
    assert "offset" in report.problems[2].message


def test_print_to_lists_the_rejects_and_the_counts(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.jsonl", ["nope", "nope", *as_lines(EVENTS)])
    _, report = read_events(path)
    out = io.StringIO()
    report.print_to(out, max_problems=1)
    text = out.getvalue()
    assert f"rejected {path}:1:" in text
    assert "and 1 more rejected lines" in text
    assert text.rstrip().endswith("read 5 lines, kept 3, rejected 2")


def test_a_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes("\ufeff".encode() + "\n".join(as_lines(EVENTS)).encode())
    events, report = read_events(path)
    assert report.rejected == 0
    assert events[0].user_id == "u1"


def test_a_line_that_is_not_utf8_is_rejected_not_fatal(tmp_path: Path) -> None:
    lines = [line.encode() for line in as_lines(EVENTS)]
    lines.insert(1, b'{"user_id": "u\xff", "ts": 1, "action": "view"}')
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b"\n".join(lines))
    events, report = read_events(path)
    assert [event.user_id for event in events] == ["u1", "u2", "u1"]
    assert [problem.line for problem in report.problems] == [2]
    assert report.problems[0].message.startswith("not UTF-8 (byte 0xff")


def test_duplicates_are_merged_into_ordered_sequences(tmp_path: Path) -> None:
    duplicated = [*EVENTS, EVENTS[0], {**EVENTS[2], "ts": "2026-03-02T16:01:00+02:00"}]
    events, report = read_events(write_lines(tmp_path / "dup.jsonl", as_lines(duplicated)))
    assert report.kept == 5
    sequences = {sequence.user_id: sequence for sequence in group_sequences(events)}
    assert [event.action for event in sequences["u1"].events] == ["login", "purchase"]
    assert len(sequences["u2"]) == 1


def case_record(case_id: str, fraud_type: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "fraud_type": fraud_type,
        "acceptable_actions": ["allow"] if fraud_type == "none" else ["hold_order", "monitor"],
        "events": events,
    }


def test_case_files_load_as_cases_and_as_events(tmp_path: Path) -> None:
    lines = [
        json.dumps(case_record("c1", "none", EVENTS[:1])),
        json.dumps(case_record("c2", "card_testing", EVENTS[1:])),
        json.dumps(case_record("c3", "not_a_type", EVENTS[:1])),
        json.dumps(case_record("c4", "none", [{"user_id": "u9", "action": "view"}])),
    ]
    path = write_lines(tmp_path / "cases.jsonl.gz", lines)
    cases, report = read_cases(path)
    assert [(case.case_id, case.is_fraud, len(case.events)) for case in cases] == [
        ("c1", False, 1),
        ("c2", True, 2),
    ]
    assert (report.read, report.kept, report.rejected) == (4, 2, 2)
    assert report.problems[0].message.startswith("fraud_type: ")
    assert report.problems[1].message.startswith("events[0].ts: ")
    events, event_report = read_events(path, fmt="cases")
    assert [event.user_id for event in events] == ["u1", "u2", "u1"]
    assert event_report.kept == 2


def test_an_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.jsonl", as_lines(EVENTS))
    with pytest.raises(ValueError, match="unknown format 'parquet'") as caught:
        read_events(path, fmt="parquet")
    assert all(name in str(caught.value) for name in FORMAT_NAMES)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.jsonl"):
        read_events(tmp_path / "nothing.jsonl")
    with pytest.raises(FileNotFoundError, match=r"nothing\.jsonl"):
        read_cases(tmp_path / "nothing.jsonl")
