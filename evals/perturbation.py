"""The type-guess perturbation: the same cases with the detector's guess shown, hidden, wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evals.records import CaseRecord, RunDir, RunDirError


@dataclass(frozen=True, slots=True)
class GuessRun:
    """One run's answers on the flagged fraud cases that every compared run decided."""

    name: str
    type_guess: str
    accuracy: float
    accuracy_where_guess_wrong: float | None
    guess_wrong: int
    followed_wrong_guess: int


@dataclass(frozen=True, slots=True)
class Perturbation:
    cases: int
    """Flagged fraud cases with a model verdict in every run."""
    runs: list[GuessRun]
    flipped: int | None
    """Cases right with the guess shown and wrong once a wrong guess was shown."""
    right_when_shown: int | None


def _decided(run: RunDir) -> dict[str, CaseRecord]:
    return {
        record.case_id: record
        for record in run.read_cases()
        if record.is_fraud and record.verdict is not None and not record.verdict["fallback_reason"]
    }


def _guess_run(name: str, type_guess: str, records: list[CaseRecord]) -> GuessRun:
    def answer(record: CaseRecord) -> str:
        return str(record.agent_decision().fraud_type)

    wrong = [r for r in records if r.type_guess_shown not in (None, "hidden", r.label)]
    right_on_wrong = sum(answer(r) == r.label for r in wrong)
    return GuessRun(
        name=name,
        type_guess=type_guess,
        accuracy=sum(answer(r) == r.label for r in records) / len(records),
        accuracy_where_guess_wrong=right_on_wrong / len(wrong) if wrong else None,
        guess_wrong=len(wrong),
        followed_wrong_guess=sum(answer(r) == r.type_guess_shown for r in wrong),
    )


def compare_guesses(paths: list[Path]) -> Perturbation:
    """Each run's accuracy on the shared cases, on those whose shown guess was wrong, and how
    often a wrong guess flipped an answer that was right with the guess shown."""
    runs = [RunDir(path) for path in paths]
    decided = [_decided(run) for run in runs]
    shared = sorted(set.intersection(*(set(d) for d in decided)))
    if not shared:
        raise RunDirError(f"the runs share 0 flagged fraud cases with model verdicts: {paths}")
    modes = [str(run.read_run().get("type_guess", "shown")) for run in runs]
    results = [
        _guess_run(path.name, mode, [d[case_id] for case_id in shared])
        for path, mode, d in zip(paths, modes, decided, strict=True)
    ]
    flipped = right = None
    if "shown" in modes and "wrong" in modes:
        shown, wrong = decided[modes.index("shown")], decided[modes.index("wrong")]
        right_ids = [c for c in shared if shown[c].agent_decision().fraud_type == shown[c].label]
        right = len(right_ids)
        flipped = sum(wrong[c].agent_decision().fraud_type != wrong[c].label for c in right_ids)
    return Perturbation(len(shared), results, flipped, right)


def render_perturbation(result: Perturbation) -> str:
    lines = [
        f"Type-guess perturbation on {result.cases} flagged fraud cases answered in every run",
        "",
        "| run | guess shown | type accuracy | accuracy where the guess was wrong | "
        "wrong guesses | answers that followed a wrong guess |",
        "|---|---|---|---|---|---|",
    ]
    for run in result.runs:
        where = (
            "n/a"
            if run.accuracy_where_guess_wrong is None
            else f"{run.accuracy_where_guess_wrong:.3f}"
        )
        lines.append(
            f"| {run.name} | {run.type_guess} | {run.accuracy:.3f} | {where} | "
            f"{run.guess_wrong} | {run.followed_wrong_guess} |"
        )
    if result.flipped is not None:
        lines += [
            "",
            f"A wrong guess flipped {result.flipped} of {result.right_when_shown} answers that "
            "were right with the guess shown.",
        ]
    return "\n".join(lines)
