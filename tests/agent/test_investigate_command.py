"""`fraudlens investigate` end to end: a tiny detector, an OpenAI-compatible fake server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_doubles import T0, answer_json, card_testing_sequence, citing_reply, is_citing_turn
from fake_openai_server import fake_openai_server
from typer.testing import CliRunner

from agent.cli import _register_commands, app
from agent.settings import get_settings
from agent.verdict import Verdict
from detectors.detector import LSTMDetector
from detectors.loading import read_events
from detectors.sequences import Sequence, group_sequences

runner = CliRunner()
_register_commands()


def shopper_records(user: str, start: float) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"user_id": user, "ts": start, "action": "login", "status": "success", "device_id": "d"}
    ]
    views = 2 + int(start) % 5
    for index in range(views):
        records.append(
            {
                "user_id": user,
                "ts": start + 40 * (index + 1),
                "action": "view",
                "item_id": f"i{index}",
            }
        )
    if views % 2:
        records.append({"user_id": user, "ts": start + 300, "action": "purchase", "amount": 30.0})
    return records


def card_tester_records(user: str) -> list[dict[str, Any]]:
    return [event.to_record() for event in card_testing_sequence(user).events]


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = []
    for index in range(12):
        records += shopper_records(f"shop{index}", T0 + 1000 * index)
    for index in range(3):
        records += card_tester_records(f"tester{index}")
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture(scope="module")
def detector(events_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """Fitted in seconds, saved; and the users it flags (the threshold flags only some)."""
    events, _ = read_events(events_file)
    sequences: list[Sequence] = group_sequences(events)
    detector = LSTMDetector(hidden=16, embed_dim=8, epochs=2, min_count=1, seed=0)
    detector.fit(sequences)
    scores = sorted(set(detector.decision_function(sequences).tolist()), reverse=True)
    assert len(scores) > 1, "the users must not all score the same"
    detector.threshold_ = scores[min(2, len(scores) - 2)]
    flagged = {score.user_id for score in detector.explain(sequences) if score.flagged}
    return detector.save(tmp_path_factory.mktemp("detector")), flagged


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {
        "FRAUDLENS_CHECKPOINT_DB": str(tmp_path / "checkpoints.sqlite"),
        "FRAUDLENS_LLM_MODEL": "fake-model",
        "FRAUDLENS_LLM_MAX_RETRIES": "0",
        "FRAUDLENS_LLM_TIMEOUT_S": "5",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


def read_verdicts(path: Path) -> list[Verdict]:
    return [Verdict.model_validate_json(line) for line in path.read_text().splitlines()]


def test_flagged_users_get_one_verdict_each(
    events_file: Path,
    detector: tuple[Path, set[str]],
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detector_dir, flagged = detector
    output = tmp_path / "verdicts.jsonl"

    def answer(request: dict[str, Any]) -> str:
        schema = request["response_format"]["json_schema"]["schema"]
        if is_citing_turn(schema):
            return citing_reply(schema)
        return answer_json(fraud_type="payment_fraud", action="hold_order")

    with fake_openai_server(answer) as (url, all_requests):
        monkeypatch.setenv("FRAUDLENS_LLM_BASE_URL", url)
        get_settings.cache_clear()
        args = [str(events_file), "--model", str(detector_dir), "-o", str(output), "-k", "2"]
        result = runner.invoke(app, ["investigate", *args])
    assert result.exit_code == 0, result.output
    verdicts = read_verdicts(output)
    schemas = [request["response_format"]["json_schema"]["schema"] for request in all_requests]
    requests = [
        r for r, schema in zip(all_requests, schemas, strict=True) if not is_citing_turn(schema)
    ]
    assert len(verdicts) == len(requests) == len(flagged) < 15
    assert len(all_requests) == 2 * len(flagged)  # each answer, then its citing turn
    assert {verdict.user_id for verdict in verdicts} == flagged
    assert all(v.flagged and v.action == "hold_order" and v.model == "fake-model" for v in verdicts)
    assert all(len(v.evidence) == 1 and v.llm_calls == 2 for v in verdicts)
    assert all((v.prompt_tokens, v.completion_tokens) == (642, 90) for v in verdicts)
    # The request carried the verdict schema as structured output, and the table names each user.
    response_format = requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["properties"]["action"]["enum"][0] == "allow"
    assert requests[0]["model"] == "fake-model"
    table = result.stdout.splitlines()
    assert table[0].split() == ["user", "score", "type", "action", "reason"]
    assert {line.split()[0] for line in table[1:]} >= flagged


def test_a_model_server_that_is_down_gives_fallbacks_not_losses_and_fails_the_run(
    events_file: Path,
    detector: tuple[Path, set[str]],
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detector_dir, flagged = detector
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("FRAUDLENS_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    get_settings.cache_clear()
    output = tmp_path / "verdicts.jsonl"
    args = [str(events_file), "--model", str(detector_dir), "-o", str(output)]
    result = runner.invoke(app, ["investigate", *args])
    assert result.exit_code == 1, result.output  # a run of only fallbacks is a failed run
    assert "every verdict is a fallback" in result.stderr
    verdicts = read_verdicts(output)
    assert {verdict.user_id for verdict in verdicts} == flagged
    assert all(v.action == "manual_review" and v.proposed_action is None for v in verdicts)
    assert all(v.fallback_reason and "cannot reach" in v.fallback_reason for v in verdicts)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "file not found"),
        (["{events}", "--format", "parquet"], "'parquet' is not one of"),
        (["{events}", "--concurrency", "0"], "must be ≥ 1"),
        (["{events}", "--model", "{missing}"], "Invalid value for --model"),
    ],
)
def test_bad_input_is_refused_clearly(
    args: list[str], message: str, events_file: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    filled = [arg.format(events=events_file, missing=tmp_path / "nope") for arg in args]
    command = ["investigate", *filled, "-o", str(tmp_path / "v.jsonl")]
    result = runner.invoke(app, command, env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert message in result.output
