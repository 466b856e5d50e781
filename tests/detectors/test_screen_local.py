"""The local streaming screen: same scores as one in-memory pass, rejects, output formats."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from screen_fixtures import BAD_LINES, read_users, train_tiny_model, write_spread_events
from typer.testing import CliRunner

from detectors.detector import load_detector
from detectors.loading import read_cases, read_events
from detectors.screen_cli import screen
from detectors.screening.run import EngineOptions, run_screen
from detectors.screening.scoring import ScreenOutput
from detectors.sequence_files import load_sequences
from detectors.sequences import group_sequences

app = typer.Typer()
app.command()(screen)
runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("screen-model"))


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return write_spread_events(tmp_path)


def _one_pass_scores(files: list[Path], model: Path) -> dict[str, tuple[float, bool, int]]:
    """What screening all files as one in-memory list of events gives, per user."""
    events = [event for path in files for event in read_events(path)[0]]
    sequences = group_sequences(events)
    results = load_detector(model).explain(sequences)
    return {
        result.user_id: (round(result.score, 6), result.flagged, len(sequence))
        for result, sequence in zip(results, sequences, strict=True)
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_sharded_screen_gives_the_one_pass_scores(
    files: list[Path], model: Path, tmp_path: Path, workers: int
) -> None:
    output = ScreenOutput(tmp_path / "out", all_users=True)
    # A few KB per shard: many shards, so users are grouped across files and shards; with two
    # workers, files are partitioned and shards screened in two spawned processes.
    options = EngineOptions(workers=workers, shard_bytes=4096)
    run = run_screen(files, "jsonl", model, output, options)
    users = read_users(tmp_path / "out")
    expected = _one_pass_scores(files, model)
    assert len(list((tmp_path / "out").glob("users-*.jsonl"))) > 1
    # Scores to 1e-5: float32 sums depend on which sequences share a batch.
    assert {user: (r["flagged"], r["n_events"]) for user, r in users.items()} == {
        user: (flagged, n_events) for user, (_, flagged, n_events) in expected.items()
    }
    for user, (score, _, _) in expected.items():
        assert users[user]["score"] == pytest.approx(score, abs=1e-5), user
    assert run.counts.users == len(expected) == 38
    assert run.rejected == 2
    rejected_lines = {Path(r.path).name: [p.line for p in r.problems] for r in run.reports}
    assert rejected_lines == {**BAD_LINES, "events_2.jsonl": []}


def test_duplicates_across_files_are_one_event(files: list[Path], tmp_path: Path) -> None:
    kept = sum(len(read_events(path)[0]) for path in files)
    unique = sum(len(s) for s in group_sequences(e for p in files for e in read_events(p)[0]))
    assert kept > unique  # the fixture duplicates every fifth event in another file
    sequences = load_sequences(files[2], "jsonl").sequences
    assert all(
        earlier.ts <= later.ts
        for sequence in sequences
        for earlier, later in zip(sequence.events, sequence.events[1:], strict=False)
    )


def test_command_reports_rejects_and_writes_screened_users(
    files: list[Path], model: Path, tmp_path: Path
) -> None:
    users_file, flagged_file = tmp_path / "users.jsonl", tmp_path / "flagged.jsonl"
    args = [*map(str, files), "--model", str(model), "-o", str(users_file), "--all"]
    result = runner.invoke(app, [*args, "--flagged-out", str(flagged_file)])
    assert result.exit_code == 0, result.output
    assert "users 38 " in result.output and "rejected lines 2" in result.output
    assert "events_0.jsonl:3: not valid JSON" in result.output
    assert "events_1.jsonl.gz:5: ts: required field is missing" in result.output
    assert "peak memory" in result.output
    users = read_users(users_file)
    flagged = {user for user, record in users.items() if record["flagged"]}
    assert flagged, "the tiny model flags nobody: the test would check nothing"
    loaded = load_sequences(flagged_file, "screened")
    assert loaded.case_ids is not None and set(loaded.case_ids) == flagged
    rescored = load_detector(model).explain(loaded.sequences)
    for case_id, sequence, score in zip(loaded.case_ids, loaded.sequences, rescored, strict=True):
        assert len(sequence) == users[case_id]["n_events"]
        assert round(score.score, 6) == users[case_id]["score"]


def test_parquet_input_and_parquet_output(files: list[Path], model: Path, tmp_path: Path) -> None:
    records = [json.loads(line) for line in files[2].read_text().splitlines()]
    parquet = tmp_path / "events_2.parquet"
    columns = list(dict.fromkeys(key for record in records for key in record))
    pq.write_table(pa.table({key: [r.get(key) for r in records] for key in columns}), parquet)
    out = tmp_path / "parquet-out"
    result = runner.invoke(
        app,
        [str(files[0]), str(files[1]), str(parquet), "--model", str(model), "-o", str(out),
         "--output-format", "parquet", "--all"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pa.concat_tables([pq.read_table(p) for p in sorted(out.glob("users-*.parquet"))])
    scores = {row["user_id"]: row["score"] for row in table.to_pylist()}
    assert scores == {user: value[0] for user, value in _one_pass_scores(files, model).items()}


def test_case_files_keep_one_sequence_per_case(model: Path, tmp_path: Path) -> None:
    cases = model.parent / "train.jsonl.gz"
    flagged_file = tmp_path / "flagged.jsonl"
    output = ScreenOutput(tmp_path / "cases.jsonl", flagged=flagged_file, all_users=True)
    run = run_screen([cases], "cases", model, output, EngineOptions())
    users = read_users(tmp_path / "cases.jsonl")
    loaded = load_sequences(cases, "cases")
    assert loaded.case_ids is not None
    assert run.counts.users == len(loaded.sequences) == len(users)
    results = load_detector(model).explain(loaded.sequences)
    assert {case: users[case]["score"] for case in loaded.case_ids} == {
        case: round(result.score, 6) for case, result in zip(loaded.case_ids, results, strict=True)
    }
    # The flagged cases keep their labels: the file is a case file for `eval run --cases`.
    labels = {case.case_id: case.fraud_type for case in read_cases(cases)[0]}
    flagged, report = read_cases(flagged_file)
    assert report.rejected == 0 and flagged
    assert {case.case_id for case in flagged} == {c for c, r in users.items() if r["flagged"]}
    assert all(case.fraud_type == labels[case.case_id] for case in flagged)
    assert all(case.extra["score"] == users[case.case_id]["score"] for case in flagged)


def test_no_usable_event_exits_2(model: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bad.jsonl"
    empty.write_text("{not json\n")
    result = runner.invoke(app, [str(empty), "--model", str(model), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "0 usable events (rejected 1)" in result.output


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_plan_gives_every_worker_as_many_shards_each_within_the_budget(
    tmp_path: Path, workers: int
) -> None:
    from detectors.screening.local_engine import plan

    inputs = []
    for index, size in enumerate((700, 1_000, 300)):
        path = tmp_path / f"events_{index}.jsonl"
        path.write_bytes(b"x" * size)
        inputs.append(path)
    local = plan(inputs, shard_bytes=400, workers=workers, threads=6)
    assert local.workers == workers
    assert local.shards % workers == 0
    assert local.shards * 400 >= 2_000  # no shard over its text budget (on average)
    assert local.shards - workers < 2_000 / 400  # and no more shards than that needs
    assert local.threads_per_worker == 6 // workers
