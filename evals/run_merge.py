"""A recorded run with some of its cases answered again by other runs: one run to score.

A prompt version that changes the rendering of only a few cases of a file needs only those cases
run again: every other case would get the same prompt, so the same answer. `merge_runs` takes the
base run's records and replaces each case another run answered, by case id, and writes the result
as a new run whose metrics and report are computed as `eval run` computes them. It refuses runs
that are not one experiment (another model, detector, policy, few-shot library or type-guess
setting), a replacing case whose events differ from the base's, and one the detector flagged
differently. Which cases a prompt changes is the caller's claim (evals/datasets/README.md names
how each `*_touched` file was chosen); run.json records what was merged from where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detectors.cases import Case
from evals.policy_replay import SESSION_KEYS, load_recorded_dataset
from evals.records import CaseRecord, RunDir, RunDirError
from evals.task import Dataset

SAME_EXPERIMENT = ("model", "detector_version", "policy_sha256", "fewshot_library", "type_guess")
"""run.json keys that must agree between the base run and every run merged into it."""


def merge_runs(base: Path, replacements: list[Path], target: Path) -> tuple[RunDir, Dataset, int]:
    """Write the base run's records, with each case a replacement answered taken from it, as a
    new run at `target`; returns it, the base's dataset and how many cases were replaced."""
    if not replacements:
        raise RunDirError("name at least one run to merge into the base run")
    base_info = RunDir(base).read_run()
    dataset = load_recorded_dataset(base_info, base)
    base_cases = {case.case_id: case for case in dataset.cases}
    records = {record.case_id: record for record in RunDir(base).read_cases()}
    prompt_versions = set()
    merged_from: dict[str, int] = {}
    for source in replacements:
        info = RunDir(source).read_run()
        _refuse_another_experiment(base, base_info, source, info)
        prompt_versions.add(info.get("prompt_version"))
        answered = {case.case_id: case for case in load_recorded_dataset(info, source).cases}
        taken = 0
        for record in RunDir(source).read_cases():
            if record.case_id not in answered:
                continue
            _refuse_another_case(source, record, records, base_cases, answered[record.case_id])
            records[record.case_id] = record
            taken += 1
        merged_from[str(source)] = taken
    if len(prompt_versions) > 1:
        versions = sorted(map(str, prompt_versions))
        raise RunDirError(f"the runs merged into {base} ran different prompts: {versions}")
    merged = RunDir(target)
    inherited = {key: value for key, value in base_info.items() if key not in SESSION_KEYS}
    merged.start(
        {
            **inherited,
            "name": target.name,
            "prompt_version": prompt_versions.pop(),
            "merged_from": {"base": str(base), "replaced_by": merged_from},
        },
        resume=False,
    )
    for case in dataset.cases:
        if case.case_id in records:
            merged.append(records[case.case_id])
    return merged, dataset, sum(merged_from.values())


def _refuse_another_experiment(
    base: Path, base_info: dict[str, Any], source: Path, info: dict[str, Any]
) -> None:
    for key in SAME_EXPERIMENT:
        if info.get(key) != base_info.get(key):
            raise RunDirError(
                f"cannot merge {source} into {base}: its {key} is {info.get(key)!r}, "
                f"the base run's {base_info.get(key)!r}"
            )


def _refuse_another_case(
    source: Path,
    record: CaseRecord,
    records: dict[str, CaseRecord],
    base_cases: dict[str, Case],
    answered_case: Case,
) -> None:
    """A replacing record must answer the base's own case, screened the same way."""
    case_id = record.case_id
    if case_id not in base_cases or case_id not in records:
        raise RunDirError(f"{source}: case {case_id} is not among the base run's cases")
    if answered_case.to_record() != base_cases[case_id].to_record():
        raise RunDirError(f"{source}: case {case_id} differs from the base run's case of that id")
    if record.flagged != records[case_id].flagged:
        raise RunDirError(
            f"{source}: case {case_id} was flagged={record.flagged} there and "
            f"flagged={records[case_id].flagged} in the base run"
        )
