"""A recorded run's answers bounded again by another risk policy, with no model call.

Each verdict's proposed action, fraud type and confidence go through the policy with the case's
detector score and the ids of its instruction-like texts (read again from the run's dataset),
exactly as `apply_risk_policy` does in the agent. So a policy change is measured on the answers
the model already gave, and two runs recorded under different policies can be compared under one.
The comparison systems' decisions (`detector_only`, `rules_only`) are kept as recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.policy import PolicyInput, RiskPolicy
from agent.render.untrusted_text import instruction_like_ids
from detectors.sequences import order_events
from evals.records import CaseRecord, RunDir, RunDirError
from evals.task import CaseSelection, Dataset

SESSION_KEYS = ("status", "sessions", "start_time", "end_time", "wall_s", "model_down")
"""run.json keys of the source run's own sessions, which the replay does not inherit."""


def load_recorded_dataset(info: dict[str, Any], source: Path) -> Dataset:
    """The dataset selection the source run scored; refused when the file has changed since."""
    dataset = Dataset.load(Path(info["dataset_path"]), CaseSelection.recorded(info))
    if dataset.sha256 != info["dataset_sha256"]:
        raise RunDirError(
            f"{source}: {info['dataset_path']} has changed since the run "
            f"(sha256 {dataset.sha256[:12]}, run.json records {info['dataset_sha256'][:12]})"
        )
    return dataset


def rebound(record: CaseRecord, policy: RiskPolicy, instruction_like: list[str]) -> CaseRecord:
    """The record with its verdict's action decided again by `policy` from the same answer."""
    verdict = record.verdict
    if verdict is None:
        return record
    answered = verdict.get("fallback_reason") is None
    answer = (verdict["fraud_type"], verdict["confidence"], verdict["proposed_action"])
    refuted = verdict.get("refuted_type") is not None
    decision = policy.apply(
        PolicyInput.proposing(
            answer if answered else None,
            record.detector_score,
            record.flagged,
            instruction_like,
            fallback_action=policy.refuted_fallback if refuted else "manual_review",
        )
    )
    updated = {**verdict, "action": decision.action, "policy_notes": decision.notes}
    return record.model_copy(update={"verdict": updated})


def replay_policy(source: Path, target: Path, policy: RiskPolicy) -> tuple[RunDir, Dataset, int]:
    """Write the source run's records, re-bounded by `policy`, as a new run at `target`;
    returns it, its dataset and how many final actions changed."""
    run = RunDir(source)
    info = run.read_run()
    dataset = load_recorded_dataset(info, source)
    events = {case.case_id: order_events(case.events) for case in dataset.cases}
    recorded = [record for record in run.read_cases() if record.case_id in events]
    updated = [
        rebound(record, policy, instruction_like_ids(events[record.case_id])) for record in recorded
    ]
    replay = RunDir(target)
    inherited = {key: value for key, value in info.items() if key not in SESSION_KEYS}
    replay.start(
        {**inherited, "policy_sha256": policy.digest(), "replayed_from": str(source)},
        resume=False,
    )
    for record in updated:
        replay.append(record)
    changed = sum(
        new.agent_decision().action != old.agent_decision().action
        for old, new in zip(recorded, updated, strict=True)
    )
    return replay, dataset, changed
