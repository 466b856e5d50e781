"""Faithfulness: cited events of the kinds the chosen type needs; stated numbers from the case."""

from __future__ import annotations

import math
import re

from agent.evidence_kinds import EVIDENCE_KINDS, cited_events, kind_problems
from agent.grounding import case_text, cited_ids_in
from agent.render.case import RenderOptions, render_case
from agent.render.evidence_facts import describe_evidence_v2
from agent.verdict import Verdict
from detectors.events import Event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")


def cites_needed_kinds(verdict: Verdict, events: list[Event]) -> bool:
    """Every cited event is of a kind the chosen type rests on, and the type's defining kind is
    among them (refund abuse cites a refund or return, card testing a payment attempt, …);
    the table is agent/evidence_kinds.py's."""
    if cited_events(verdict.evidence, events) is None:
        return False
    return not kind_problems(verdict.fraud_type, verdict.evidence, events)


def explanation_cites_needed_kinds(verdict: Verdict, events: list[Event]) -> bool:
    """Every event id the explanation's own text cites exists and is of a kind the chosen type
    rests on (`none` may cite anything): what an analyst reads, where the `evidence` list may be
    held to the type's kinds by the answer's grammar (verdict_v16, v17) but the text is not."""
    cited = [int(number) for number in cited_ids_in(verdict.explanation)]
    if any(number >= len(events) for number in cited):
        return False
    if verdict.fraud_type == "none":
        return True
    allowed = EVIDENCE_KINDS[verdict.fraud_type]
    return all(events[number].action in allowed for number in cited)


def numbers_in(text: str) -> list[float]:
    """Numbers written in `text`, not those inside ids or words (`e12`, `2FA`)."""
    return [float(token.replace(",", "")) for token in _NUMBER.findall(text)]


def stated_numbers_match(verdict: Verdict, sequence: Sequence, score: SequenceScore | None) -> bool:
    """Every number the explanation states appears in the case as fully rendered (every list of
    facts, those measured against the user's baseline and with refunds counted by order too,
    and the whole timeline)."""
    case = render_case(sequence, score, RenderOptions(token_budget=1_000_000))
    baseline = describe_evidence_v2(sequence.events, baseline=True, refunds_by_order=True)
    known = numbers_in("\n".join([case_text(case), *baseline]))
    return all(
        any(math.isclose(stated, value, abs_tol=0.006) for value in known)
        for stated in numbers_in(verdict.explanation)
    )
