"""Small event files for screening tests: users spread over files, duplicates, bad lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import typer
from detector_fixtures import make_sequences
from typer.testing import CliRunner

from detectors.cases import Case
from detectors.train_cli import train

BAD_LINES = {"events_0.jsonl": [3], "events_1.jsonl.gz": [5]}
"""File → line numbers of the lines that are not events (one bad JSON, one without `ts`)."""


def train_tiny_model(folder: Path) -> Path:
    """A detector trained for seconds on synthetic cases: enough to score, not to judge."""
    sequences, labels = make_sequences(120, 24, seed=1)
    cases = folder / "train.jsonl.gz"
    with gzip.open(cases, "wt", encoding="utf-8") as out:
        for index, (sequence, label) in enumerate(zip(sequences, labels, strict=True)):
            actions = ["allow"] if label == "none" else ["block_account"]
            case = Case(f"c-{index}", label, actions, sequence.events)
            out.write(json.dumps(case.to_record()) + "\n")
    app = typer.Typer()
    app.command()(train)
    model = folder / "model"
    result = CliRunner().invoke(
        app,
        [
            "--data", str(cases), "--format", "cases", "--labels",
            "--epochs", "1", "--hidden", "16", "--embed-dim", "8", "-o", str(model),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return model


def write_spread_events(folder: Path) -> list[Path]:
    """Three files; each user's events dealt round-robin over them, in reverse time order in
    the last, every fifth event duplicated in another file, and one bad line in two files."""
    sequences, _ = make_sequences(30, 8, seed=7)
    lines: list[list[str]] = [[], [], []]
    for sequence in sequences:
        for position, event in enumerate(reversed(sequence.events)):
            line = json.dumps(event.to_record())
            lines[position % 3].append(line)
            if position % 5 == 0:
                lines[(position + 1) % 3].append(line)
    lines[0].insert(BAD_LINES["events_0.jsonl"][0] - 1, "{not json")
    no_ts = json.dumps({"user_id": "u-bad", "action": "view"})
    lines[1].insert(BAD_LINES["events_1.jsonl.gz"][0] - 1, no_ts)
    paths = [folder / "events_0.jsonl", folder / "events_1.jsonl.gz", folder / "events_2.jsonl"]
    for path, content in zip(paths, lines, strict=True):
        text = "\n".join(content) + "\n"
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(text.encode("utf-8")))
        else:
            path.write_text(text, encoding="utf-8")
    return paths


def read_users(path: Path) -> dict[str, dict]:
    """Every user record of a screen output (one JSONL file or a folder of shards), by user."""
    files = sorted(path.glob("users-*.jsonl")) if path.is_dir() else [path]
    records = [json.loads(line) for file in files for line in file.read_text().splitlines()]
    return {record.get("case_id", record["user_id"]): record for record in records}
