"""The eval solver: screen every case, investigate the flagged ones, write one record per case."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from typing import Protocol

from tqdm import tqdm

from agent.policy import RiskPolicy
from agent.verdict import Verdict
from detectors.cases import Case
from detectors.rules import RuleDetector
from detectors.scores import SequenceScore
from detectors.sequences import Sequence, order_events
from evals.baselines import detector_only_decision, head_fraud_type, rules_only_decision
from evals.run_dir import CaseRecord, RunDir

SCREEN_BATCH = 512
"""Cases scored by the detector at once."""
_EVENT_ID = re.compile(r"^e(\d+)$")


class Pipeline(Protocol):
    """What the solver drives: the agent's screen and its investigation of one flagged case."""

    def screen(self, sequences: SequenceOf[Sequence]) -> list[SequenceScore]: ...

    async def investigate(
        self, case_id: str, sequence: Sequence, score: SequenceScore | None = None
    ) -> Verdict: ...


@dataclass(slots=True)
class Baselines:
    """The systems run beside the agent, and the policy they share with it."""

    policy: RiskPolicy
    rules: RuleDetector


def case_sequence(case: Case) -> Sequence:
    """The case's events as one time-ordered, deduplicated sequence (ids e0, e1, … follow it)."""
    return Sequence(case.events[0].user_id, order_events(case.events))


def case_tags(case: Case) -> list[str]:
    tags = case.extra.get("tags", [])
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


def evidence_grounded(verdict: Verdict, event_count: int) -> bool:
    """A model answer whose cited ids all exist, citing at least one unless the type is `none`."""
    if verdict.is_fallback:
        return False
    indices = [_EVENT_ID.match(event_id) for event_id in verdict.evidence]
    if not all(match and int(match.group(1)) < event_count for match in indices):
        return False
    return bool(verdict.evidence) or verdict.fraud_type == "none"


def schema_valid(verdict: Verdict) -> bool:
    """The model's own answer passed the verdict schema (a fallback verdict did not)."""
    return verdict.proposed_action is not None


def _screened_record(
    case: Case, sequence: Sequence, score: SequenceScore, baselines: Baselines
) -> CaseRecord:
    return CaseRecord(
        case_id=case.case_id,
        user_id=sequence.user_id,
        label=case.fraud_type,
        acceptable_actions=case.acceptable_actions,
        tags=case_tags(case),
        n_events=len(sequence),
        detector_score=score.score,
        flagged=score.flagged,
        detector_fraud_type=head_fraud_type(score),
        baselines={
            "detector_only": detector_only_decision(baselines.policy, score),
            "rules_only": rules_only_decision(baselines.policy, baselines.rules, sequence),
        },
    )


def with_verdict(record: CaseRecord, verdict: Verdict) -> CaseRecord:
    return record.model_copy(
        update={
            "verdict": verdict.model_dump(mode="json"),
            "schema_valid": schema_valid(verdict),
            "evidence_grounded": evidence_grounded(verdict, record.n_events),
            "latency_s": verdict.latency_s,
            "llm_calls": verdict.llm_calls,
            "prompt_tokens": verdict.prompt_tokens,
            "completion_tokens": verdict.completion_tokens,
        }
    )


class _Progress:
    """The bar: cases done, ETA and the running share of cases given the right type."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = tqdm(total=total, desc="eval", unit="case", disable=not enabled)
        self.done = 0
        self.correct = 0

    def add(self, record: CaseRecord) -> None:
        self.done += 1
        self.correct += record.agent_decision().fraud_type == record.label
        self.bar.set_postfix(accuracy=f"{self.correct / self.done:.3f}", refresh=False)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


async def solve_cases(
    cases: SequenceOf[Case],
    pipeline: Pipeline,
    baselines: Baselines,
    run: RunDir,
    concurrency: int,
    progress: bool = True,
) -> int:
    """Run every case not yet finished in `run`; return how many were run this time.

    A case whose investigation raised is recorded with its error and run again on resume.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be ≥ 1; got {concurrency}")
    finished = {record.case_id for record in run.read_cases() if record.error is None}
    pending = [case for case in cases if case.case_id not in finished]
    bar = _Progress(len(pending), progress)
    flagged: list[tuple[CaseRecord, Sequence, SequenceScore]] = []
    try:
        for start in range(0, len(pending), SCREEN_BATCH):
            batch = pending[start : start + SCREEN_BATCH]
            sequences = [case_sequence(case) for case in batch]
            scores = pipeline.screen(sequences)
            for case, sequence, score in zip(batch, sequences, scores, strict=True):
                record = _screened_record(case, sequence, score, baselines)
                if score.flagged:
                    flagged.append((record, sequence, score))
                else:
                    run.append(record)
                    bar.add(record)
        slots = asyncio.Semaphore(concurrency)

        async def investigate(record: CaseRecord, sequence: Sequence, score: SequenceScore) -> None:
            async with slots:
                try:
                    verdict = await pipeline.investigate(record.case_id, sequence, score)
                    record = with_verdict(record, verdict)
                except Exception as error:  # recorded, retried on resume; never stops the run
                    record = record.model_copy(update={"error": f"{type(error).__name__}: {error}"})
            run.append(record)
            bar.add(record)

        await asyncio.gather(*(investigate(*item) for item in flagged))
    finally:
        bar.close()
    return len(pending)
