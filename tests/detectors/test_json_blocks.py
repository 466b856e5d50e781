"""The screen's block reader gives exactly the line parser's events, counts and rejects,
whatever the lines hold, and leaves the line parser only the lines it must."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from detectors.events import parse_event_values
from detectors.loading import LoadReport, read_jsonl
from detectors.screening import json_blocks
from detectors.screening.event_table import events_batch
from detectors.screening.json_blocks import jsonl_event_batches


def _clean(index: int) -> dict[str, Any]:
    return {
        "user_id": f"u{index % 7}",
        "ts": f"2026-03-02T14:{index % 60:02d}:{(index * 7) % 60:02d}Z",
        "action": ("view", "purchase", "login")[index % 3],
        "item_id": f"i{index}",
        "amount": index * 1.25,
        "quantity": index % 4,
        "rating": 1 + index % 5,
        "text": "plain ascii text",
    }


ODD_LINES: list[bytes] = [
    b"",
    b"   \t",
    b"\r",
    b'{"user_id": "u1", "ts": "2026-03-02T14:00:00Z", "action": "view", "attrs": {"shop": "s1"}}',
    b'{"user_id": "u1", "ts": "2026-03-02T14:00:01Z", "action": "view", "attrs": {}}',
    b'{"user_id": "u2", "ts": 1772460000, "action": "review", "attrs": {"n": 1, "t": ["a", null]}}',
    b'{"user_id": "u2", "ts": "2026-03-02T14:00:02Z", "action": "review", '
    b'"text": "caf\\u00e9 \\ud83d\\ude00"}',
    '{"user_id": "u3", "ts": "2026-03-02T14:00:03Z", "action": "review", '
    '"text": "naïve 评价"}'.encode(),
    b'{"user_id": "u3", "ts": "2026-03-02T14:00:04Z", "action": "view", "shop": "kept in attrs"}',
    b'{"user_id": "u3", "ts": "2026-03-02T14:00:05Z", "action": "view", "item_id": 123}',
    b'{"user_id": 42, "ts": "2026-03-02T14:00:06Z", "action": "view"}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:07Z", "action": "purchase", "quantity": 2.0}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:08Z", "action": "purchase", "quantity": -1}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:09Z", "action": "review", "rating": 6}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:10Z", "action": "view", "amount": NaN}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:11Z", "action": "view", "amount": 1e400}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:12Z", "action": "view", "amount": true}',
    b'{"user_id": "u4", "ts": "2026-03-02T14:00:13Z", "action": "view", '
    b'"quantity": 9223372036854775808}',
    b'{"user_id": "u5", "ts": "2026-03-02T14:00:14.5+05:30", "action": "view"}',
    b'{"user_id": "u5", "ts": "2026-03-02T14:00:15.123456-02:00", "action": "view"}',
    b'{"user_id": "u5", "ts": "2026-03-02T14:00:16", "action": "view"}',
    b'{"user_id": "u5", "ts": "2026-02-30T14:00:17Z", "action": "view"}',
    b'{"user_id": "u5", "ts": "2026-03-02T14:00:18z", "action": "view"}',
    b'{"user_id": "u5", "ts": "2026-03-02 14:00:19+00:00", "action": "view"}',
    b'{"user_id": "u5", "ts": "0001-01-01T00:30:00+01:00", "action": "view"}',
    b'{"user_id": "u5", "ts": "0000-01-01T00:00:00Z", "action": "view"}',
    b'{"user_id": "u5", "ts": null, "action": "view"}',
    b'{"user_id": " u6 ", "ts": "2026-03-02T14:00:20Z", "action": " view "}',
    b'{"user_id": "u6", "ts": "2026-03-02T14:00:21Z", "action": "teleport"}',
    b'{"user_id": "u6", "ts": "2026-03-02T14:00:22Z", "action": "other:x"}',
    b'{"user_id": "", "ts": "2026-03-02T14:00:23Z", "action": "view"}',
    b'{"user_id": "u6", "user_id": "u7", "ts": "2026-03-02T14:00:24Z", "action": "view"}',
    b'{"user_id": "u6", "ts": "2026-03-02T14:00:25Z", "action": "view"} {"user_id": "u8"}',
    b'{"user_id": "u6", "ts": "2026-03-02T14:00:26Z", "action": "view",}',
    b'{"user_id": "u\xff", "ts": "2026-03-02T14:00:27Z", "action": "view"}',
    b"[1, 2]",
    b"not json",
    b'  {"user_id": "u9", "ts": "2026-03-02T14:00:28Z", "action": "view"}',
    b'{"user_id": "u9", "ts": "2026-03-02T14:00:29Z", "action": "view"}\r',
    b'{"user_id": "u9", "ts": "2026-03-02T14:00:30Z", "action": "view", "text": "'
    + b"x" * 3000
    + b'"}',
]


def _clean_lines(count: int, start: int = 0) -> list[bytes]:
    return [json.dumps(_clean(index)).encode() for index in range(start, start + count)]


def _file(tmp_path: Path, name: str, lines: list[bytes], newline_at_end: bool = True) -> Path:
    data = codecs.BOM_UTF8 + b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _read_both(path: Path) -> tuple[pa.Table, LoadReport, pa.Table, LoadReport]:
    fast_report, line_report = LoadReport(str(path)), LoadReport(str(path))
    fast = pa.Table.from_batches(list(jsonl_event_batches(path, fast_report)), json_blocks.SCHEMA)
    rows = list(read_jsonl(path, parse_event_values, line_report))
    line = pa.Table.from_batches([events_batch([row[0] for row in rows], [None] * len(rows), rows)])
    return fast, fast_report, line, line_report


def _assert_same(path: Path) -> LoadReport:
    fast, fast_report, line, line_report = _read_both(path)
    assert fast.num_rows == line.num_rows
    for name in line.column_names:
        assert fast[name].combine_chunks().equals(line[name].combine_chunks()), name
    assert (fast_report.read, fast_report.kept, fast_report.rejected) == (
        line_report.read,
        line_report.kept,
        line_report.rejected,
    )
    assert [str(problem) for problem in fast_report.problems] == [
        str(problem) for problem in line_report.problems
    ]
    return fast_report


@pytest.mark.parametrize("block_bytes", [2**20, 700, 64])
@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_every_kind_of_line_reads_as_the_line_parser_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int, name: str
) -> None:
    monkeypatch.setattr(json_blocks, "BLOCK_BYTES", block_bytes)
    lines = _clean_lines(30)
    for index, odd in enumerate(ODD_LINES):  # each odd line among clean ones
        lines[index % 30 : index % 30] = [odd]
    lines += _clean_lines(30, start=30)
    report = _assert_same(_file(tmp_path, name, lines, newline_at_end=False))
    assert report.rejected >= 15 and report.kept >= 60


def test_one_odd_line_per_block_falls_back_for_that_block_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_blocks, "BLOCK_BYTES", 4096)
    for odd in ODD_LINES:
        _assert_same(_file(tmp_path, "one.jsonl", [*_clean_lines(40), odd, *_clean_lines(40, 40)]))


def test_only_the_lines_it_must_go_to_the_line_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counting(raw: bytes, number: int, *args: Any) -> Any:
        calls.append(number)
        return json_blocks_parse(raw, number, *args)

    json_blocks_parse = json_blocks.parse_json_line
    monkeypatch.setattr(json_blocks, "parse_json_line", counting)
    lines = _clean_lines(500)
    lines[100] = ODD_LINES[3]  # attrs
    lines[200] = ODD_LINES[6]  # a \u escape
    lines[300] = b""
    fast, _, line, _ = _read_both(_file(tmp_path, "mostly_clean.jsonl", lines))
    assert fast.equals(line)
    assert calls[:3] == [101, 201, 301]  # then the line parser's own pass in _read_both


def _unix_lines(count: int) -> list[bytes]:
    """Clean lines with Unix seconds, whole and fractional."""
    records = [_clean(index) for index in range(count)]
    for index, record in enumerate(records):
        record["ts"] = 1772460000 + (index * 7.25 if index % 2 else index)
    return [json.dumps(record).encode() for record in records]


UNIX_ODD_LINES: list[bytes] = [
    b'{"user_id": "u1", "ts": 1772460000123, "action": "view"}',  # milliseconds
    b'{"user_id": "u1", "ts": -62135596801, "action": "view"}',  # before year 1
    b'{"user_id": "u1", "ts": -62135596800, "action": "view"}',  # year 1 exactly
    b'{"user_id": "u1", "ts": 253402300799.99999999, "action": "view"}',  # rounds to year 10000
    b'{"user_id": "u1", "ts": "2026-03-02T14:00:00Z", "action": "view"}',  # the other kind
    b'{"user_id": "u1", "ts": 1e9, "action": "view"}',
    b'{"user_id": "u1", "ts": -1.5, "action": "view"}',
    b'{"user_id": "u1", "ts": true, "action": "view"}',
    b'{"user_id": "u1", "ts": Infinity, "action": "view"}',
]


def test_unix_seconds_read_fast_and_as_the_line_parser_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    line_parser = json_blocks.parse_json_line

    def counting(raw: bytes, number: int, *args: Any) -> Any:
        calls.append(number)
        return line_parser(raw, number, *args)

    monkeypatch.setattr(json_blocks, "parse_json_line", counting)
    report = _assert_same(_file(tmp_path, "unix.jsonl", _unix_lines(300)))
    assert report.kept == 300 and calls == []  # every line by Arrow
    monkeypatch.setattr(json_blocks, "BLOCK_BYTES", 4096)
    for odd in UNIX_ODD_LINES:
        _assert_same(_file(tmp_path, "odd.jsonl", [*_unix_lines(40), odd, *_unix_lines(40)]))
