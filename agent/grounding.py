"""Checks that a model answer is grounded in the case: every cited event id exists."""

from __future__ import annotations

import re

from agent.render.case import RenderedCase
from agent.verdict import ModelAnswer

_CITED_ID = re.compile(r"\be(\d+)\b")


def grounding_problems(answer: ModelAnswer, case: RenderedCase) -> list[str]:
    """Why the answer is not grounded in `case` (empty when it is)."""
    last = case.event_count - 1
    problems = []
    unknown = [eid for eid in answer.evidence if int(eid[1:]) > last]
    if unknown:
        problems.append(
            f"evidence ids {', '.join(unknown)} do not exist; the case has e0 to e{last}"
        )
    cited = sorted({int(number) for number in _CITED_ID.findall(answer.explanation)})
    unknown_cited = [f"e{number}" for number in cited if number > last]
    if unknown_cited:
        problems.append(
            f"explanation cites {', '.join(unknown_cited)}, which do not exist "
            f"(the case has e0 to e{last})"
        )
    if answer.fraud_type != "none" and not answer.evidence:
        problems.append(f"fraud_type {answer.fraud_type} needs at least one evidence id")
    return problems
