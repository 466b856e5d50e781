"""`fraudlens eval detector`: every detector scored on one labelled split, and a real-label set."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from detectors.adapters import real_data_path
from detectors.cases import Case
from detectors.detector import LSTMDetector
from detectors.loading import LoadReport
from detectors.sequence_files import LoadedSequences
from evals.detector_eval_cli import eval_detector
from evals.detector_open_world import cut_to_windows
from evals.detector_quality import evaluate_real

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detectors"))
from detector_fixtures import make_sequences

app = typer.Typer()
app.command()(eval_detector)


def _write_cases(path: Path, n_legit: int, n_fraud: int, seed: int) -> None:
    sequences, labels = make_sequences(n_legit, n_fraud, seed=seed)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for index, (sequence, label) in enumerate(zip(sequences, labels, strict=True)):
            case = Case(f"c{seed}-{index}", label, ["monitor"], sequence.events)
            out.write(json.dumps(case.to_record()) + "\n")


def test_eval_detector_reports_lstm_and_every_baseline(tmp_path: Path) -> None:
    _write_cases(tmp_path / "train.jsonl.gz", 150, 30, seed=1)
    _write_cases(tmp_path / "test.jsonl.gz", 80, 20, seed=2)
    sequences, labels = make_sequences(150, 30, seed=1)
    LSTMDetector(hidden=32, embed_dim=16, epochs=4).fit(sequences, labels).save(tmp_path / "m")
    result = CliRunner().invoke(
        app,
        [
            "--model", str(tmp_path / "m"),
            "--train", str(tmp_path / "train.jsonl.gz"),
            "--test", str(tmp_path / "test.jsonl.gz"),
            "--no-real",
            "--no-cross-sim",
            "--no-leave-one-out",
            "--no-hdfs",
            "-o", str(tmp_path / "out.json"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out.json").read_text())
    assert [entry["set"] for entry in report] == [
        "simulator test",
        "test.jsonl.gz at the operating threshold",
        "users seen through a window of time",
    ]
    operating = report[1]["rows"]
    assert [row["name"] for row in operating][1:] == [
        "n-gram (trigram)",
        "isolation forest",
        "rules",
    ]
    assert all(0.0 <= row["legit_flag_rate"] <= 0.2 for row in operating)
    assert operating[0]["recall"] >= 0.8
    windows = [row["name"] for row in report[2]["rows"]]
    assert windows[0].startswith("lstm (lstm-") and windows[1:] == [
        "lstm, window end taken as the user's",
        "n-gram (trigram)",
        "isolation forest",
        "rules",
    ]
    assert report[2]["note"].startswith("100 test users, each cut to a random stretch")
    names = [detector["name"] for detector in report[0]["detectors"]]
    assert len(names) == 5 and {"rules", "isolation forest", "n-gram (trigram)"} <= set(names)
    for detector in report[0]["detectors"]:
        assert set(detector["metrics"]) == {"roc_auc", "pr_auc", "recall@1%", "recall@5%"}
        assert set(detector["type_recall"]) == {"account_takeover", "card_testing"}
    assert report[0]["detectors"][0]["metrics"]["roc_auc"] >= 0.9
    assert "recall per fraud type" in result.output


def test_leave_one_type_out_can_be_limited_to_some_types(tmp_path: Path) -> None:
    _write_cases(tmp_path / "train.jsonl.gz", 150, 30, seed=1)
    _write_cases(tmp_path / "test.jsonl.gz", 80, 20, seed=2)
    sequences, labels = make_sequences(150, 30, seed=1)
    LSTMDetector(hidden=32, embed_dim=16, epochs=1).fit(sequences, labels).save(tmp_path / "m")
    common = [
        "--model", str(tmp_path / "m"),
        "--train", str(tmp_path / "train.jsonl.gz"),
        "--test", str(tmp_path / "test.jsonl.gz"),
        "--no-real", "--no-cross-sim", "--no-hdfs", "--retrain-epochs", "1",
        "-o", str(tmp_path / "out.json"),
    ]  # fmt: skip
    refused = CliRunner().invoke(app, [*common, "--leave-out-types", "card_testing,scalping"])
    assert refused.exit_code != 0 and "scalping" in refused.output
    result = CliRunner().invoke(app, [*common, "--leave-out-types", "card_testing"])
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / "out.json").read_text())[-1]
    assert table["set"] == "leave one fraud type out"
    lstm_rows = [row for row in table["rows"] if row["name"].startswith("lstm without")]
    assert [row["name"] for row in lstm_rows] == ["lstm without card_testing"]


@pytest.mark.slow
def test_fraud_data_real_labels_half_split() -> None:
    result = evaluate_real("fraud_data", real_data_path("fraud_data"), epochs=1, seed=0)
    assert result.fraud > 0 and result.sequences > 10_000
    lstm = result.detectors[0]
    assert lstm.metrics["roc_auc"] > 0.6  # time from sign-up to purchase carries signal


def test_windows_are_seeded_contiguous_stretches_of_each_user() -> None:
    sequences, labels = make_sequences(40, 10, seed=4)
    loaded = LoadedSequences(sequences, labels, None, LoadReport("synthetic"))
    cut = cut_to_windows(loaded, seed=7)
    assert cut.labels == labels and len(cut.sequences) == len(sequences)
    shorter = 0
    for whole, window in zip(sequences, cut.sequences, strict=True):
        assert window.user_id == whole.user_id and window.events
        start = whole.events.index(window.events[0])
        assert whole.events[start : start + len(window.events)] == window.events
        shorter += len(window.events) < len(whole.events)
    assert shorter > len(sequences) // 2
    again = cut_to_windows(loaded, seed=7)
    assert [s.events for s in again.sequences] == [s.events for s in cut.sequences]
