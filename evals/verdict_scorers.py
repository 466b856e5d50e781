"""Scorers of one verdict against its case, each naming the record field it fills and the
catalogue metrics computed from that field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.grounding import verdict_grounded
from agent.verdict import Verdict
from detectors.scores import SequenceScore
from detectors.sequences import Sequence
from evals.faithfulness import (
    cites_needed_kinds,
    explanation_cites_needed_kinds,
    stated_numbers_match,
)
from evals.records import CaseRecord


@dataclass(frozen=True, slots=True)
class Scorer:
    """One per-case check of a verdict; None when it does not apply (e.g. to a fallback)."""

    field: str
    """The CaseRecord field it fills."""
    metrics: tuple[str, ...]
    """The metrics of evals.catalogue computed from that field."""
    score: Callable[[Verdict, Sequence, SequenceScore | None], bool | None]


def _model_answer_only(
    check: Callable[[Verdict, Sequence, SequenceScore | None], bool],
) -> Callable[[Verdict, Sequence, SequenceScore | None], bool | None]:
    return lambda verdict, sequence, score: (
        None if verdict.is_fallback else check(verdict, sequence, score)
    )


SCHEMA = Scorer(
    "schema_valid",
    ("agent.schema_valid_rate", "injection.schema_valid_rate"),
    lambda verdict, sequence, score: verdict.proposed_action is not None,
)
GROUNDING = Scorer(
    "evidence_grounded",
    ("agent.grounding_rate",),
    lambda verdict, sequence, score: verdict_grounded(verdict, len(sequence)),
)
CITED_KINDS = Scorer(
    "cites_needed_kinds",
    ("agent.faithfulness_rate", "agent.cited_kinds_rate"),
    _model_answer_only(
        lambda verdict, sequence, score: cites_needed_kinds(verdict, sequence.events)
    ),
)
NUMBERS = Scorer(
    "numbers_match",
    ("agent.faithfulness_rate", "agent.numbers_match_rate"),
    _model_answer_only(stated_numbers_match),
)
EXPLANATION_KINDS = Scorer(
    "explanation_kinds",
    ("agent.explanation_kinds_rate",),
    _model_answer_only(
        lambda verdict, sequence, score: explanation_cites_needed_kinds(verdict, sequence.events)
    ),
)
VERDICT_SCORERS: tuple[Scorer, ...] = (SCHEMA, GROUNDING, CITED_KINDS, NUMBERS, EXPLANATION_KINDS)


def score_verdict(
    record: CaseRecord,
    verdict: Verdict,
    sequence: Sequence,
    score: SequenceScore | None,
    scorers: tuple[Scorer, ...] = VERDICT_SCORERS,
) -> CaseRecord:
    """The record with the verdict, its cost and every scorer's field filled."""
    update: dict[str, object] = {
        "verdict": verdict.model_dump(mode="json"),
        "latency_s": verdict.latency_s,
        "llm_calls": verdict.llm_calls,
        "prompt_tokens": verdict.prompt_tokens,
        "completion_tokens": verdict.completion_tokens,
    }
    for scorer in scorers:
        update[scorer.field] = scorer.score(verdict, sequence, score)
    return record.model_copy(update=update)
