"""Comparing two eval runs: paired differences and a non-zero exit on a headline regression."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from eval_records import make_record

from evals.compare import compare_runs
from evals.eval_cli import eval_compare
from evals.records import CaseRecord, RunDir


def _write_run(
    directory: Path, records: list[CaseRecord], detector_version: str = "lstm-a"
) -> Path:
    run = RunDir(directory)
    info = {"model": "scripted", "dataset_sha256": "x", "detector_version": detector_version}
    run.start(info, resume=False)
    for record in records:
        run.append(record)
    return directory


def _runs(tmp_path: Path, wrong_in_b: int) -> tuple[Path, Path]:
    """40 flagged card-testing cases; run B gets the type wrong on `wrong_in_b` of them."""
    a = [make_record(f"c{i}", "card_testing", score=0.5 + i / 100) for i in range(40)]
    b = [
        make_record(
            f"c{i}",
            "card_testing",
            score=0.5 + i / 100,
            verdict_type="promo_abuse" if i < wrong_in_b else None,
        )
        for i in range(40)
    ]
    return _write_run(tmp_path / "a", a), _write_run(tmp_path / "b", b)


def test_compare_pairs_cases_and_flags_the_regression(tmp_path: Path) -> None:
    run_a, run_b = _runs(tmp_path, wrong_in_b=8)
    comparison = compare_runs(run_a, run_b, tolerance=0.05, rounds=200)
    by_name = {metric.name: metric for metric in comparison.metrics}
    accuracy = by_name["agent.type_accuracy"]
    assert comparison.shared_cases == 40
    assert accuracy.diff == pytest.approx(-0.2)
    assert accuracy.regressed and accuracy.significant
    assert not by_name["detector.roc_auc"].regressed
    assert "agent.type_accuracy" in {m.name for m in comparison.headline_regressions}


def test_compare_command_exits_non_zero_beyond_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_a, run_b = _runs(tmp_path, wrong_in_b=8)
    with pytest.raises(typer.Exit) as exit_info:
        eval_compare(run_a, run_b, tolerance=0.05, bootstrap_rounds=100)
    assert exit_info.value.exit_code == 1
    assert "REGRESSED" in capsys.readouterr().out


def test_compare_command_passes_within_tolerance(tmp_path: Path) -> None:
    run_a, run_b = _runs(tmp_path, wrong_in_b=1)  # accuracy drops by 0.025
    report = tmp_path / "compare.md"
    eval_compare(run_a, run_b, tolerance=0.05, bootstrap_rounds=100, output=report)
    assert "No headline metric regressed" in report.read_text()


def test_compare_names_what_differs_besides_model_and_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [make_record(f"c{i}", "card_testing") for i in range(5)]
    same_a, same_b = _write_run(tmp_path / "a", records), _write_run(tmp_path / "b", records)
    assert compare_runs(same_a, same_b, rounds=10).differing_conditions == []
    other = _write_run(tmp_path / "c", records, detector_version="lstm-b")
    comparison = compare_runs(same_a, other, rounds=10)
    assert comparison.differing_conditions == ["detector_version: lstm-a vs lstm-b"]
    eval_compare(same_a, other, bootstrap_rounds=10)
    assert "differ in more than model and prompt" in capsys.readouterr().out


@pytest.mark.parametrize(("tolerance", "regressed"), [(0.02, True), (0.05, False)])
def test_calls_per_1000_users_regress_by_a_share_of_the_reference(
    tmp_path: Path, tolerance: float, regressed: bool
) -> None:
    run_a, run_b = _runs(tmp_path, wrong_in_b=0)  # one call per case in both
    records = RunDir(run_b).read_cases()
    records[0] = records[0].model_copy(update={"llm_calls": 2})
    RunDir(run_b).cases_file.unlink()
    for record in records:
        RunDir(run_b).append(record)
    comparison = compare_runs(run_a, run_b, tolerance=tolerance, rounds=50)
    calls = {metric.name: metric for metric in comparison.metrics}["agent.llm_calls_per_1000_users"]
    assert (calls.value_a, calls.value_b) == (1000.0, 1025.0)  # +2.5 %
    assert calls.regressed is regressed and not calls.improved
