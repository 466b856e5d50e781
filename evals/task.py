"""The verdict eval as a task: a versioned dataset selection, the solver and its scorers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.investigator import Investigator, ModelSupervisor
from detectors.cases import Case
from detectors.loading import read_cases
from evals.records import RunDir, file_sha256
from evals.solver import Baselines, case_tags, solve_cases
from evals.type_guess import TypeGuess
from evals.verdict_scorers import VERDICT_SCORERS, Scorer

TASK_NAME = "verdicts"
TASK_VERSION = 2
"""2: verdicts scored by declared scorers (schema, grounding, cited kinds, stated numbers) and
run with a chosen detector type guess; 1: the harness before tasks."""


class DatasetError(ValueError):
    """A case file that cannot be evaluated."""


@dataclass(frozen=True, slots=True)
class CaseSelection:
    """Which cases of a file a run takes: those carrying `tag` (all when None), then the first
    `per_type` of each fraud type in file order, then `limit` of them after the first `skip`
    (a held-out slice: `--skip 60 --limit 60` after a run on the first 60)."""

    limit: int | None = None
    per_type: int | None = None
    tag: str | None = None
    skip: int = 0

    @classmethod
    def recorded(cls, info: dict[str, Any]) -> CaseSelection:
        """The selection a run.json records (runs before `tag` and `skip` existed took every
        tag and skipped none)."""
        return cls(info.get("limit"), info.get("per_type"), info.get("tag"), info.get("skip", 0))

    def describe(self) -> dict[str, Any]:
        return {"limit": self.limit, "per_type": self.per_type, "tag": self.tag, "skip": self.skip}

    def apply(self, cases: list[Case]) -> list[Case]:
        if self.tag is not None:
            cases = [case for case in cases if self.tag in case_tags(case)]
        if self.per_type is not None:
            taken: Counter[str] = Counter()
            kept = []
            for case in cases:
                if taken[case.fraud_type] < self.per_type:
                    taken[case.fraud_type] += 1
                    kept.append(case)
            cases = kept
        cases = cases[self.skip :]
        return cases[: self.limit] if self.limit else cases


@dataclass(frozen=True, slots=True)
class Dataset:
    """The cases of one case file, the selection taken from them, and where they came from."""

    path: Path
    sha256: str
    total: int
    rejected_lines: int
    selection: CaseSelection
    cases: list[Case]
    """The selected cases, in file order."""

    @classmethod
    def load(cls, path: Path, selection: CaseSelection) -> Dataset:
        loaded, report = read_cases(path)
        if report.rejected:
            report.print_to()
        if not loaded:
            raise DatasetError(f"{path} holds 0 valid cases ({report.summary()})")
        selected = selection.apply(loaded)
        if not selected:
            raise DatasetError(f"{path}: no case matches the selection {selection.describe()}")
        return cls(path, file_sha256(path), len(loaded), report.rejected, selection, selected)


@dataclass(frozen=True, slots=True)
class EvalTask:
    """Dataset + solver + scorers; `describe()` is what run.json records of it."""

    dataset: Dataset
    detector_version: str
    type_guess: TypeGuess = "shown"
    scorers: tuple[Scorer, ...] = VERDICT_SCORERS

    def describe(self) -> dict[str, Any]:
        return {
            "task": TASK_NAME,
            "task_version": TASK_VERSION,
            "dataset_path": str(self.dataset.path),
            "dataset_sha256": self.dataset.sha256,
            "dataset_cases": self.dataset.total,
            "dataset_rejected_lines": self.dataset.rejected_lines,
            **self.dataset.selection.describe(),
            "detector_version": self.detector_version,
            "type_guess": self.type_guess,
            "scorers": {scorer.field: list(scorer.metrics) for scorer in self.scorers},
        }

    async def solve(
        self,
        investigator: Investigator,
        baselines: Baselines,
        run: RunDir,
        concurrency: int,
        progress: bool,
        supervisor: ModelSupervisor | None,
    ) -> int:
        return await solve_cases(
            self.dataset.cases,
            investigator,
            baselines,
            run,
            concurrency,
            progress,
            supervisor=supervisor,
            type_guess=self.type_guess,
            scorers=self.scorers,
        )
