"""Merging runs: the base run's records with the cases another run answered taken from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_records import make_record

from evals.records import RunDir, RunDirError, file_sha256
from evals.run_merge import merge_runs

EXPERIMENT = {"model": "m", "detector_version": "d1", "policy_sha256": "p1", "limit": None}


def _case(case_id: str, fraud_type: str, item: str = "i1") -> dict[str, Any]:
    events = [
        {"user_id": case_id, "ts": 1_770_000_000 + 60 * i, "action": "purchase", "item_id": item}
        for i in range(3)
    ]
    return {
        "case_id": case_id,
        "fraud_type": fraud_type,
        "acceptable_actions": ["hold_order"] if fraud_type != "none" else ["allow", "monitor"],
        "events": events,
    }


def _run(path: Path, cases: list[dict[str, Any]], answers: dict[str, str], **info: Any) -> Path:
    """A recorded run of `cases` whose flagged cases were answered with the given types."""
    dataset = path.with_suffix(".jsonl")
    dataset.write_text("".join(json.dumps(case) + "\n" for case in cases))
    run = RunDir(path)
    files = {"dataset_path": str(dataset), "dataset_sha256": file_sha256(dataset)}
    run.start({**EXPERIMENT, **files, **info}, resume=False)
    for case in cases:
        answer = answers.get(case["case_id"])
        run.append(
            make_record(
                case["case_id"], case["fraud_type"], flagged=answer is not None, verdict_type=answer
            )
        )
    return path


def _base(tmp_path: Path) -> Path:
    cases = [_case("a", "order_brushing"), _case("b", "none"), _case("c", "none")]
    answers = {"a": "refund_abuse", "b": "fake_review"}
    return _run(tmp_path / "base", cases, answers, prompt_version="v1")


def test_the_cases_another_run_answered_replace_the_base_runs(tmp_path: Path) -> None:
    base = _base(tmp_path)
    again = _run(
        tmp_path / "again",
        [_case("b", "none"), _case("a", "order_brushing")],
        {"a": "order_brushing", "b": "none"},
        prompt_version="v2",
    )
    merged, dataset, replaced = merge_runs(base, [again], tmp_path / "merged")
    types = {record.case_id: record.agent_decision().fraud_type for record in merged.read_cases()}
    assert replaced == 2 and len(dataset.cases) == 3
    assert types == {"a": "order_brushing", "b": "none", "c": "none"}
    assert [record.case_id for record in merged.read_cases()] == ["a", "b", "c"]
    info = merged.read_run()
    assert info["prompt_version"] == "v2" and info["dataset_path"].endswith("base.jsonl")
    assert info["name"] == "merged"  # the report is titled by the merged run, not its base
    assert info["merged_from"] == {"base": str(base), "replaced_by": {str(again): 2}}


@pytest.mark.parametrize(
    ("cases", "info", "problem"),
    [
        ([_case("a", "order_brushing")], {"detector_version": "d2"}, "detector_version is 'd2'"),
        ([_case("a", "order_brushing", item="i2")], {}, "case a differs from the base run's"),
        ([_case("z", "order_brushing")], {}, "case z is not among the base run's cases"),
        ([_case("c", "none")], {}, "case c was flagged=True there and flagged=False"),
    ],
)
def test_a_run_of_another_experiment_or_other_cases_is_refused(
    tmp_path: Path, cases: list[dict[str, Any]], info: dict[str, Any], problem: str
) -> None:
    base = _base(tmp_path)
    other = _run(tmp_path / "other", cases, {case["case_id"]: "none" for case in cases}, **info)
    with pytest.raises(RunDirError, match=problem):
        merge_runs(base, [other], tmp_path / "merged")
