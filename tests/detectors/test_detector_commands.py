"""`train`, `screen`, `recalibrate` and `bench detector` end to end on tiny files (typer runner)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import typer
from detector_fixtures import make_sequences
from typer.testing import CliRunner

from detectors.bench_cli import bench_detector
from detectors.cases import Case
from detectors.recalibrate_cli import recalibrate
from detectors.screen_cli import screen
from detectors.train_cli import train

app = typer.Typer()
app.command("train")(train)
app.command("screen")(screen)
app.command("bench")(bench_detector)
app.command("recalibrate")(recalibrate)
runner = CliRunner()


def _write_cases(path: Path, n_legit: int, n_fraud: int, seed: int) -> None:
    sequences, labels = make_sequences(n_legit, n_fraud, seed=seed)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for index, (sequence, label) in enumerate(zip(sequences, labels, strict=True)):
            actions = ["allow"] if label == "none" else ["block_account"]
            case = Case(f"c-{seed}-{index}", label, actions, sequence.events)
            out.write(json.dumps(case.to_record()) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cmd")
    _write_cases(folder / "train.jsonl.gz", 150, 30, seed=1)
    _write_cases(folder / "dev.jsonl.gz", 60, 12, seed=2)
    result = runner.invoke(
        app,
        [
            "train",
            "--data", str(folder / "train.jsonl.gz"),
            "--format", "cases",
            "--labels",
            "--validation", str(folder / "dev.jsonl.gz"),
            "--epochs", "2",
            "--hidden", "16",
            "--embed-dim", "8",
            "-o", str(folder / "model"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output and "roc_auc=" in result.output
    return folder


def test_train_writes_a_loadable_model(trained: Path) -> None:
    meta = json.loads((trained / "model" / "detector.json").read_text())
    assert meta["validation_metrics"]["roc_auc"] > 0.5
    assert (trained / "model" / "model.safetensors").stat().st_size > 0


def test_screen_events_file_counts_rejected_lines(trained: Path) -> None:
    sequences, _ = make_sequences(20, 5, seed=3)
    events_file = trained / "events.jsonl"
    lines = [json.dumps(e.to_record()) for s in sequences for e in s.events]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"user_id": "u1", "action": "view"}))  # no ts
    events_file.write_text("\n".join(lines) + "\n")
    out = trained / "flagged.jsonl"
    result = runner.invoke(
        app,
        ["screen", str(events_file), "--model", str(trained / "model"), "-o", str(out), "--all"],
    )
    assert result.exit_code == 0, result.output
    assert "users 25" in result.output and "rejected lines 2" in result.output
    assert "events/s" in result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 25
    first = records[0]
    assert {"user_id", "score", "flagged", "n_events", "top_events"} <= set(first)
    assert 0 < len(first["top_events"]) <= 5
    assert first["top_events"][0]["nll"] >= first["top_events"][-1]["nll"]


def test_screen_cases_file_writes_only_flagged(trained: Path) -> None:
    out = trained / "flagged_cases.jsonl"
    result = runner.invoke(
        app,
        [
            "screen", str(trained / "dev.jsonl.gz"),
            "-f", "cases",
            "--model", str(trained / "model"),
            "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and all(record["flagged"] and record["case_id"] for record in records)
    assert f"flagged {len(records)} " in result.output


def test_screen_rejects_bad_format_and_missing_model(trained: Path, tmp_path: Path) -> None:
    events = trained / "dev.jsonl.gz"
    bad_format = runner.invoke(app, ["screen", str(events), "-f", "xml", "-o", str(tmp_path / "o")])
    assert bad_format.exit_code == 2 and "xml" in bad_format.output
    no_model = runner.invoke(
        app, ["screen", str(events), "--model", str(tmp_path), "-o", str(tmp_path / "o")]
    )
    assert no_model.exit_code == 2


def test_bench_prints_side_by_side_rows(trained: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "--model", str(trained / "model"),
            "--file", str(trained / "dev.jsonl.gz"),
            "--format", "cases",
            "--length", "6",
            "--sequences", "32",
            "--window-sequences", "4",
            "--min-seconds", "0",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in (
        "lstm one-pass",
        "per-window",
        "n-gram",
        "matmul cpu",
        "one-pass / per-window",
        "events/s",
    ):
        assert text in result.output


def test_recalibrate_fits_the_budget_on_the_given_legitimate_users(trained: Path) -> None:
    _write_cases(trained / "other.jsonl.gz", 120, 40, seed=5)
    out = trained / "recalibrated"
    args = ["recalibrate", "--data", str(trained / "other.jsonl.gz"), "--format", "cases"]
    result = runner.invoke(
        app, [*args, "--labels", "--model", str(trained / "model"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "calibrated on 120 legitimate users of other.jsonl.gz" in result.output
    before = json.loads((trained / "model" / "detector.json").read_text())
    after = json.loads((out / "detector.json").read_text())
    assert after["calibration"]["reference"] == "120 legitimate users of other.jsonl.gz"
    assert after["calibration"]["fills_budget"] and not before["calibration"]["fills_budget"]
    assert 0.04 <= after["calibration"]["held_out_flag_rate"] <= 0.05  # the budget, filled
    assert after["version"] != before["version"] and after["model"] == before["model"]
    assert (out / "model.safetensors").read_bytes() == (
        trained / "model" / "model.safetensors"
    ).read_bytes()
    # Too few legitimate users for a 5 % tail: a clear error, nothing written.
    _write_cases(trained / "few.jsonl.gz", 30, 5, seed=6)
    few = runner.invoke(
        app,
        ["recalibrate", "--data", str(trained / "few.jsonl.gz"), "--format", "cases", "--labels",
         "--model", str(trained / "model"), "-o", str(trained / "few_model")],
    )  # fmt: skip
    assert few.exit_code == 2
    assert "30 legitimate users to calibrate on; need ≥ 100" in few.output
    assert not (trained / "few_model").exists()
