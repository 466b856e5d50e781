"""A real eval run, end to end: five fraud cases through the bundled detector and a local model."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm.probe import ServerSpeed
from agent.llm.server import LocalModelServer
from agent.settings import get_settings
from evals.eval_cli import eval_run
from evals.records import RunDir

TEST_SPLIT = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "sim_v1_test.jsonl.gz"


@pytest.fixture
def local_llm_settings(
    local_llm: LocalModelServer, local_llm_speed: ServerSpeed, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("FRAUDLENS_LLM_BASE_URL", local_llm.base_url)
    monkeypatch.setenv("FRAUDLENS_LLM_MODEL", local_llm.model)
    monkeypatch.setenv("FRAUDLENS_LLM_PREFILL_TOK_S", str(local_llm_speed.prefill_tok_s))
    monkeypatch.setenv("FRAUDLENS_LLM_DECODE_TOK_S", str(local_llm_speed.decode_tok_s))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _shortest_fraud_cases(count: int, path: Path) -> Path:
    """The `count` shortest fraud cases of the test split (short prompts keep CPU decoding fast)."""
    with gzip.open(TEST_SPLIT, "rt", encoding="utf-8") as lines:
        fraud = [case for case in map(json.loads, lines) if case["fraud_type"] != "none"]
    fraud.sort(key=lambda case: (len(case["events"]), case["case_id"]))
    path.write_text("".join(json.dumps(case) + "\n" for case in fraud[:count]))
    return path


@pytest.mark.llm
def test_eval_run_on_five_cases_with_the_local_model(
    local_llm_settings: None, tmp_path: Path
) -> None:
    cases = _shortest_fraud_cases(6, tmp_path / "cases.jsonl")
    output = tmp_path / "run"

    eval_run(cases=cases, output=output, limit=5, bootstrap_rounds=50, progress=False)

    run = RunDir(output)
    records = run.read_cases()
    assert len(records) == 5
    info = run.read_run()
    assert info["status"] == "complete" and info["model"] == "smollm2-135m"
    assert info["dataset_cases"] == 6 and info["limit"] == 5
    investigated = [record for record in records if record.verdict is not None]
    assert investigated, "the detector flagged none of five fraud cases"
    assert sum(record.llm_calls for record in investigated) >= len(investigated)
    assert all(
        record.verdict and record.verdict["model"] == "smollm2-135m" for record in investigated
    )
    metrics = run.read_json("metrics.json")
    assert metrics["cases"] == 5 and metrics["cost"]["llm_calls"] >= 1
    assert (output / "report.html").stat().st_size > 10_000
