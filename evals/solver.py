"""The eval solver: screen every case, investigate the flagged ones through the agent's one
investigation path, score each verdict, write one record per case as it finishes."""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass

from agent.investigator import FlaggedCase, Investigated, Investigator, ModelSupervisor
from agent.linked_accounts import link_accounts
from agent.policy import RiskPolicy
from detectors.cases import Case
from detectors.rules import RuleDetector
from detectors.scores import SequenceScore
from detectors.sequences import Sequence, order_events
from evals.baselines import detector_only_decision, head_fraud_type, rules_only_decision
from evals.records import CaseRecord, RunDir
from evals.type_guess import TypeGuess, perturb_guess, shown_guess
from evals.verdict_scorers import VERDICT_SCORERS, Scorer, score_verdict

SCREEN_BATCH = 512
"""Cases scored by the detector at once."""


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


async def solve_cases(
    cases: SequenceOf[Case],
    investigator: Investigator,
    baselines: Baselines,
    run: RunDir,
    concurrency: int,
    progress: bool = True,
    *,
    supervisor: ModelSupervisor | None = None,
    type_guess: TypeGuess = "shown",
    scorers: tuple[Scorer, ...] = VERDICT_SCORERS,
) -> int:
    """Run every case not yet finished in `run`; return how many were run this time.

    Flagged cases go through `Investigator.investigate_many` (bounded concurrency, never-drop,
    the model-server restart through `supervisor`). A case whose investigation raised is
    recorded with its error and no verdict, and run again on resume. `type_guess` changes the
    detector type guess the model sees (the perturbation eval); the baselines see it as scored.
    Every case is linked to the accounts of the whole set (`agent.linked_accounts`), as a
    screened batch, whether or not it is run this time.
    """
    finished = {record.case_id for record in run.read_cases() if record.error is None}
    sequences = [case_sequence(case) for case in cases]
    links = link_accounts(sequences)
    pending = [i for i, case in enumerate(cases) if case.case_id not in finished]
    screened: dict[str, CaseRecord] = {}
    flagged: list[FlaggedCase] = []
    for start in range(0, len(pending), SCREEN_BATCH):
        batch = pending[start : start + SCREEN_BATCH]
        scores = investigator.screen([sequences[i] for i in batch])
        for i, score in zip(batch, scores, strict=True):
            case, sequence = cases[i], sequences[i]
            record = _screened_record(case, sequence, score, baselines)
            if not score.flagged:
                run.append(record)
                continue
            shown = perturb_guess(score, case.fraud_type, type_guess)
            screened[case.case_id] = record.model_copy(
                update={"type_guess_shown": shown_guess(shown)}
            )
            flagged.append(FlaggedCase(case.case_id, sequence, shown, links[i]))

    def write(result: Investigated) -> None:
        record = screened[result.case.case_id]
        if result.error is not None:
            run.append(record.model_copy(update={"error": result.error}))
            return
        case = result.case
        run.append(score_verdict(record, result.verdict, case.sequence, case.score, scorers))

    try:
        await investigator.investigate_many(
            flagged, concurrency, on_result=write, progress=progress, supervisor=supervisor
        )
    except BaseExceptionGroup as group:
        # An interruption inside one investigation (Ctrl-C, a stop) surfaces as itself.
        first = group.exceptions[0]
        if all(type(error) is type(first) for error in group.exceptions):
            raise first from None
        raise
    return len(pending)
