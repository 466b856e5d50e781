"""The run directory: records appended as cases finish, and a resumed run redoes none of them."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
from collections.abc import Sequence as SequenceOf
from pathlib import Path
from typing import Any

import pytest
import typer
from eval_records import make_record

from agent.investigator import Investigator
from agent.llm.client import ChatMessage, ChatResult
from agent.policy import RiskPolicy
from agent.settings import Settings, get_settings
from detectors.cases import Case, parse_case
from detectors.rules import RuleDetector
from detectors.scores import EventSurprise, SequenceScore
from detectors.sequences import Sequence
from evals.eval_cli import eval_run
from evals.records import Decision, RunDir, RunDirError
from evals.solver import Baselines, solve_cases

TEST_SPLIT = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "sim_v1_test.jsonl.gz"


class Interrupted(BaseException):
    """Stands in for Ctrl-C: not an Exception, so nothing records it as a case error."""


class ScriptedChat:
    """Answers `card_testing` citing e0; raises Interrupted once `stop_after` answers are given.
    The default prompt's citing turn after each answer is answered too (e0), and counted apart."""

    name = "scripted"

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls = 0
        self.cites = 0
        self.stop_after = stop_after

    async def complete(
        self,
        messages: list[ChatMessage],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        if json_schema is not None and set(json_schema.get("properties", {})) == {"evidence"}:
            self.cites += 1
            return ChatResult(
                json.dumps({"evidence": ["e0"]}), prompt_tokens=100, completion_tokens=5
            )
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise Interrupted
        self.calls += 1
        answer = {
            "explanation": "Many declined payment attempts, starting at e0.",
            "evidence": ["e0"],
            "fraud_type": "card_testing",
            "confidence": 0.9,
            "action": "manual_review",
        }
        return ChatResult(json.dumps(answer), prompt_tokens=100, completion_tokens=20)


class ParityScreener:
    """Flags users whose id ends in an even digit."""

    version = "parity-1"

    def explain(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]:
        return [
            SequenceScore(
                user_id=sequence.user_id,
                score=0.8 if int(sequence.user_id[-1]) % 2 == 0 else 0.1,
                flagged=int(sequence.user_id[-1]) % 2 == 0,
                events=[EventSurprise(i, "view", 1.0, 1) for i in range(len(sequence))],
            )
            for sequence in sequences
        ]


def _cases(n: int) -> list[Case]:
    return [
        parse_case(
            {
                "case_id": f"c{i}",
                "fraud_type": "card_testing" if i % 2 == 0 else "none",
                "acceptable_actions": ["manual_review"] if i % 2 == 0 else ["allow"],
                # Declined payments: the scripted answer (card testing) fits every case.
                "events": [
                    {
                        "user_id": f"u{i}",
                        "ts": 1_767_225_600 + k,
                        "action": "payment_attempt",
                        "status": "declined",
                    }
                    for k in range(3)
                ],
            }
        )
        for i in range(n)
    ]


def _solve(cases: list[Case], chat: ScriptedChat, run: RunDir) -> int:
    settings = Settings(llm_max_retries=0)
    investigator = Investigator(
        settings, chat, ParityScreener(), checkpoint_path=run.path / "checkpoints.sqlite"
    )
    baselines = Baselines(RiskPolicy.load(), RuleDetector())
    return asyncio.run(solve_cases(cases, investigator, baselines, run, 1, progress=False))


def test_resume_skips_finished_cases(tmp_path: Path) -> None:
    cases = _cases(10)  # five flagged
    run = RunDir(tmp_path / "run")
    run.start({"dataset_sha256": "abc", "model": "scripted"}, resume=False)
    first = ScriptedChat(stop_after=2)
    with pytest.raises(Interrupted):
        _solve(cases, first, run)
    assert len(run.finished_case_ids()) == 5 + 2  # every unflagged case, two verdicts

    run.start({"dataset_sha256": "abc", "model": "scripted"}, resume=True)
    second = ScriptedChat()
    assert _solve(cases, second, run) == 3
    records = run.read_cases()
    assert first.calls + second.calls == 5
    assert sorted(r.case_id for r in records) == sorted(case.case_id for case in cases)
    assert second.cites == 3  # each answer of the resumed run was followed by its citing turn
    assert sum(r.llm_calls for r in records) == 5 + first.cites + second.cites
    flagged = [r for r in records if r.flagged]
    assert all(r.verdict and r.verdict["fraud_type"] == "card_testing" for r in flagged)
    assert all(r.schema_valid and r.evidence_grounded for r in flagged)
    # no supervised head: detector-only says none, whose fixed action is monitor; no rule fires
    expected = Decision(flagged=True, fraud_type="none", action="monitor")
    assert all(r.baselines["detector_only"] == expected for r in flagged)
    assert not any(r.baselines["rules_only"].flagged for r in records)
    assert len(run.read_run()["sessions"]) == 2


def test_a_resumed_run_may_widen_its_limit_and_runs_only_the_rest(tmp_path: Path) -> None:
    cases = _cases(10)
    first_run = RunDir(tmp_path / "first4")
    first_run.start(
        {"name": "first4", "dataset_sha256": "abc", "model": "scripted", "limit": 4}, resume=False
    )
    first = ScriptedChat()
    _solve(cases[:4], first, first_run)
    shutil.copytree(first_run.path, tmp_path / "whole")  # the first run stays as it was
    run = RunDir(tmp_path / "whole")
    with pytest.raises(RunDirError, match="limit was 4, now 2"):
        run.start({"dataset_sha256": "abc", "model": "scripted", "limit": 2}, resume=True)

    widened = {"name": "whole", "dataset_sha256": "abc", "model": "scripted", "limit": None}
    run.start(widened, resume=True)
    second = ScriptedChat()
    _solve(cases, second, run)
    assert sorted(r.case_id for r in run.read_cases()) == sorted(c.case_id for c in cases)
    assert first.calls + second.calls == 5  # each flagged case answered once
    info = run.read_run()
    assert info["limit"] is None
    assert info["sessions"][-1]["widened_limit_from"] == 4
    assert info["name"] == "whole"
    assert len(first_run.read_cases()) == 4


def test_a_run_is_not_overwritten_or_resumed_as_another(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.start({"dataset_sha256": "abc", "model": "m1"}, resume=False)
    with pytest.raises(RunDirError, match="pass --resume"):
        run.start({"dataset_sha256": "abc", "model": "m1"}, resume=False)
    with pytest.raises(RunDirError, match="model was 'm1', now 'm2'"):
        run.start({"dataset_sha256": "abc", "model": "m2"}, resume=True)


def test_a_torn_last_line_is_dropped_on_resume(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.start({"dataset_sha256": "abc"}, resume=False)
    run.append(make_record("c1", "none", flagged=False))
    with open(run.cases_file, "a") as stream:
        stream.write('{"case_id": "c2", "lab')  # killed mid-write
    assert run.finished_case_ids() == {"c1"}
    run.start({"dataset_sha256": "abc"}, resume=True)
    run.append(make_record("c3", "none", flagged=False))
    lines = run.cases_file.read_text().splitlines()
    assert [json.loads(line)["case_id"] for line in lines] == ["c1", "c3"]


def test_eval_run_with_the_model_down_records_fallbacks_and_resumes_to_nothing(
    tmp_path: Path, unreachable_llm_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDLENS_LLM_BASE_URL", unreachable_llm_url)
    monkeypatch.setenv("FRAUDLENS_LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    cases_file = tmp_path / "cases.jsonl"
    with gzip.open(TEST_SPLIT, "rt", encoding="utf-8") as lines:
        cases_file.write_text("".join(line for line, _ in zip(lines, range(12), strict=False)))
    output = tmp_path / "run"
    try:
        for resume in (False, True):  # a run of unreachable-model fallbacks is a failed run
            with pytest.raises(typer.Exit) as failed:
                eval_run(
                    cases=cases_file,
                    output=output,
                    bootstrap_rounds=20,
                    progress=False,
                    resume=resume,
                )
            assert failed.value.exit_code == 1
    finally:
        get_settings.cache_clear()

    run = RunDir(output)
    records = run.read_cases()
    assert len(records) == 12 and len(run.cases_file.read_text().splitlines()) == 12
    assert len(run.read_run()["sessions"]) == 2
    flagged = [record for record in records if record.flagged]
    assert flagged, "the bundled detector flagged none of the first 12 test cases"
    assert all(record.verdict and record.verdict["fallback_reason"] for record in flagged)
    metrics = run.read_json("metrics.json")
    assert metrics["scalars"]["agent.fallback_rate"]["value"] == 1.0
    assert metrics["scalars"]["agent.schema_valid_rate"]["value"] == 0.0
    assert {"report.md", "report.html", "run.json"} <= {path.name for path in output.iterdir()}
