"""The type-guess perturbation: accuracy where the guess is wrong, and the answers it flips."""

from __future__ import annotations

from pathlib import Path

from eval_records import make_record

from evals.perturbation import compare_guesses, render_perturbation
from evals.records import RunDir


def _run(path: Path, mode: str, answers: dict[str, tuple[str, str]]) -> Path:
    """answers: case id → (type shown to the model, type it answered); every label card_testing."""
    run = RunDir(path)
    run.start({"dataset_sha256": "abc", "type_guess": mode}, resume=False)
    for case_id, (shown, answered) in answers.items():
        record = make_record(case_id, "card_testing", verdict_type=answered)
        run.append(record.model_copy(update={"type_guess_shown": shown}))
    return path


def test_a_wrong_guess_that_is_followed_flips_a_right_answer(tmp_path: Path) -> None:
    shown = _run(
        tmp_path / "shown",
        "shown",
        {"c1": ("card_testing", "card_testing"), "c2": ("card_testing", "card_testing")},
    )
    wrong = _run(
        tmp_path / "wrong",
        "wrong",
        {"c1": ("none", "none"), "c2": ("none", "card_testing"), "c3": ("none", "none")},
    )
    result = compare_guesses([shown, wrong])
    assert result.cases == 2  # c3 is not in both runs
    by_mode = {run.type_guess: run for run in result.runs}
    assert by_mode["shown"].accuracy == 1.0 and by_mode["shown"].guess_wrong == 0
    assert by_mode["wrong"].accuracy_where_guess_wrong == 0.5
    assert by_mode["wrong"].followed_wrong_guess == 1
    assert (result.flipped, result.right_when_shown) == (1, 2)
    assert "flipped 1 of 2 answers" in render_perturbation(result)
