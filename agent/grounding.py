"""Checks that an answer is grounded in the case: every cited event id exists."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.render.case import RenderedCase
from agent.verdict import ModelAnswer, Verdict

_CITED_ID = re.compile(r"\be(\d+)\b")


def evidence_problems(
    evidence: Sequence[str], explanation: str, fraud_type: str, event_count: int
) -> list[str]:
    """Why cited ids do not ground an answer in a case of `event_count` events (empty: they do)."""
    last = event_count - 1
    problems = []
    unknown = [eid for eid in evidence if not _CITED_ID.fullmatch(eid) or int(eid[1:]) > last]
    if unknown:
        problems.append(
            f"evidence ids {', '.join(unknown)} do not exist; the case has e0 to e{last}"
        )
    cited = sorted({int(number) for number in _CITED_ID.findall(explanation)})
    unknown_cited = [f"e{number}" for number in cited if number > last]
    if unknown_cited:
        problems.append(
            f"explanation cites {', '.join(unknown_cited)}, which do not exist "
            f"(the case has e0 to e{last})"
        )
    if fraud_type != "none" and not evidence:
        problems.append(f"fraud_type {fraud_type} needs at least one evidence id")
    return problems


def grounding_problems(answer: ModelAnswer, case: RenderedCase) -> list[str]:
    """Why the model's answer is not grounded in `case` (empty when it is)."""
    return evidence_problems(
        answer.evidence, answer.explanation, answer.fraud_type, case.event_count
    )


def verdict_grounded(verdict: Verdict, event_count: int) -> bool:
    """A model verdict (not the fallback) whose cited ids all exist in the case."""
    if verdict.is_fallback:
        return False
    return not evidence_problems(
        verdict.evidence, verdict.explanation, verdict.fraud_type, event_count
    )
