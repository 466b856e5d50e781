"""An answer schema drawn for one case: the grammar lets the model name only the types the
case's events leave open, and cite only events of the kinds the type it named rests on.

The checks of `pattern_check`, `pattern_shown` and `evidence_kinds` send an answer back after
the fact, and a small model often fails to repair it (a second refuted type, or a fallback).
Here the same tables shape the structured output before the model answers (prompts with
`case_schema`). Each type is one branch of the schema: its explanation opens with the type
(`card_testing (block_account): …`, as the prompt asks), its `evidence` may hold only that
type's event ids, starting with one of its defining kind (card testing: a payment attempt), and
its `fraud_type` is the type. A type the case rules out, or whose events the case lacks, has no
branch; `none` has none when the case shows a type's whole pattern. With `evidence_schema`
(verdict_v17) every type keeps its branch and only the evidence is held. With `cite_prompt`
(verdict_v18) the answer is free and a second turn, after it is accepted, asks only for the
evidence of the type it named, held by `cited_evidence_schema`. With `retry_without_refuted`
(verdict_v22) only the retry is held: `without_types` closes the types the pattern check sent
back (with `retry_closes_ruled_out`, verdict_v24, also every other type the case rules out).
The rest of the explanation is free text: what it states is still checked after the answer.
v16 and v17 are not the default: on held-out data both made faithfulness 0.98 but lost type
accuracy and recall (prompts/README.md, verdict_v16 and verdict_v17); v18, on which the
default builds, kept both.

The explanation's length bound is part of its pattern (`\\S` and at most n characters after the
opening, `_at_most`), not a `maxLength` beside it: the engine compiles every schema with the
backend of its first structured request (xgrammar, for a plain answer), and xgrammar ignores a
length bound that comes with a pattern. Served so, the closed retry's answers of v22 and v23 ran
past their length until the token limit cut them (found 2026-12-04: prompts/README.md,
verdict_v23). The opening is followed by text of the model's own: served with vLLM 0.32, the
retry schema of v22 and v23 let through nothing after the bare opening (a pattern matched
against the whole string, not anywhere in it as JSON Schema has it), and every answer under it
had that bare opening for explanation (measured 2026-12-04; v16's and v17's runs, evidence held,
did not)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from agent.evidence_kinds import EVIDENCE_KINDS, REQUIRED_KINDS
from agent.pattern_check import ruled_out
from agent.pattern_shown import shown_patterns
from agent.render.facts import event_id
from agent.verdict import answer_json_schema
from detectors.cases import FRAUD_TYPES, RISK_ACTIONS
from detectors.events import Event

_ACTIONS = "|".join(RISK_ACTIONS)
_XGRAMMAR_MAX_REPEAT = 128
"""The largest bounded repetition xgrammar 0.2.8 compiles with its cache on, as vLLM runs it: a
larger one fails its rule hasher's check (`per_rule_fsm_hashes`), and the request with it."""


def _explanation_pattern(fraud_type: str, max_chars: int) -> str:
    """An explanation opening on `fraud_type` and its action, then at least one character of
    the model's own, `max_chars` in all at most (reckoned with the longest action); anchored,
    as the servers match a pattern against the whole string."""
    own = max_chars - len(f"{fraud_type} (): ") - max(map(len, RISK_ACTIONS)) - 1
    return f"^{fraud_type} \\(({_ACTIONS})\\): \\S{_at_most(own)}$"


def _at_most(chars: int) -> str:
    """Up to `chars` characters as a pattern, each repetition bounded by at most
    `_XGRAMMAR_MAX_REPEAT` (the bound split into equal repetitions when it is larger)."""
    pieces = -(-chars // _XGRAMMAR_MAX_REPEAT)
    if pieces <= 1:
        return f".{{0,{chars}}}"
    return f"(?:.{{0,{chars // pieces}}}){{0,{pieces}}}"


def _ids(events: list[Event], kinds: frozenset[str]) -> list[str]:
    return [event_id(i) for i, event in enumerate(events) if event.action in kinds]


def case_ids(events: list[Event]) -> list[str]:
    """Every event id of the case, `e0` to its last."""
    return [event_id(i) for i in range(len(events))]


def answerable_types(
    events: list[Event],
    by_home: bool = False,
    extra: Collection[str] = (),
    shown_extras: Collection[str] = (),
) -> list[str]:
    """The types an answer for `events` may name: those the case does not rule out
    (`pattern_check`, with its `by_home` rule and the `extra` optional rules) and that it holds
    events for (their defining kind included), and `none` unless the case shows a type's whole
    pattern (`pattern_shown`, with its `shown_extras` floors). Never empty: `none` stays
    when no fraud type is open."""
    closed = ruled_out_types(events, by_home, extra)
    open_types = [
        fraud_type
        for fraud_type in FRAUD_TYPES
        if fraud_type != "none"
        and _ids(events, EVIDENCE_KINDS[fraud_type])
        and _ids(events, REQUIRED_KINDS.get(fraud_type, EVIDENCE_KINDS[fraud_type]))
        and fraud_type not in closed
    ]
    if not open_types or not shown_patterns(events, shown_extras):
        return ["none", *open_types]
    return open_types


def ruled_out_types(
    events: list[Event], by_home: bool = False, extra: Collection[str] = ()
) -> set[str]:
    """The fraud types `events` rule out (`pattern_check`, with its `by_home` rule and the
    `extra` optional rules): an answer naming one would be sent back."""
    return {
        fraud_type
        for fraud_type in FRAUD_TYPES
        if fraud_type != "none" and ruled_out(fraud_type, events, by_home, extra)
    }


def evidence_array_schema(
    events: list[Event], fraud_type: str, max_evidence: int
) -> dict[str, Any]:
    """The `evidence` array an answer naming `fraud_type` may hold: ids of the events of the
    kinds the type rests on, the first of its defining kind (any event for `none`)."""
    if fraud_type == "none":  # `none` cites what raised the alarm: any event of the case
        ids = case_ids(events)
    else:
        ids = _ids(events, REQUIRED_KINDS.get(fraud_type, EVIDENCE_KINDS[fraud_type]))
    if not ids:  # nothing to cite: a fraud answer then fails its checks and is sent back
        return {"type": "array", "maxItems": 0}
    if fraud_type == "none":
        return {"type": "array", "items": {"enum": ids}, "maxItems": max_evidence}
    return {
        "type": "array",
        "prefixItems": [{"enum": ids}],
        "items": {"enum": _ids(events, EVIDENCE_KINDS[fraud_type])},
        "minItems": 1,
        "maxItems": max_evidence,
    }


def case_answer_schema(
    events: list[Event],
    types: list[str],
    max_explanation_chars: int | None,
    max_evidence: int,
    hold_evidence: bool = True,
    existing_ids: bool = False,
) -> dict[str, Any]:
    """The structured-output schema of one case: a branch per type of `types`, each the
    answer's schema with its explanation opening on the type, its `evidence` drawn from the
    events the type rests on (without `hold_evidence`: any event ids, or with `existing_ids`
    any of the case's), and its `fraud_type` fixed."""
    ids = case_ids(events) if existing_ids else None
    answer = answer_json_schema(max_explanation_chars, max_evidence, ids)
    explanation = dict(answer["properties"]["explanation"])
    explanation.pop("minLength")  # the pattern holds both bounds
    max_chars = explanation.pop("maxLength")
    branches = []
    for fraud_type in types:
        pattern = _explanation_pattern(fraud_type, max_chars)
        evidence = answer["properties"]["evidence"]
        if hold_evidence:
            evidence = evidence_array_schema(events, fraud_type, max_evidence)
        properties = {
            **answer["properties"],
            "explanation": {**explanation, "pattern": pattern},
            "evidence": evidence,
            "fraud_type": {"const": fraud_type},
        }
        branches.append({**answer, "properties": properties})
    return {"anyOf": branches}


def without_types(
    events: list[Event],
    closed: Collection[str],
    max_explanation_chars: int | None,
    max_evidence: int,
    existing_ids: bool = False,
) -> dict[str, Any]:
    """The answer's schema with the `closed` types taken out: a branch per other type, as
    `case_answer_schema` draws them (its explanation opening on it), the evidence not held to
    the type's kinds (with `existing_ids`, to the case's ids)."""
    open_types = [fraud_type for fraud_type in FRAUD_TYPES if fraud_type not in closed]
    return case_answer_schema(
        events,
        open_types,
        max_explanation_chars,
        max_evidence,
        hold_evidence=False,
        existing_ids=existing_ids,
    )


def cited_evidence_schema(
    events: list[Event], fraud_type: str, max_evidence: int
) -> dict[str, Any] | None:
    """The citing turn's schema (prompts with `cite_prompt`): `{"evidence": [...]}` held to
    the events `fraud_type` rests on; None when the case has none of them to cite."""
    evidence = evidence_array_schema(events, fraud_type, max_evidence)
    if evidence.get("maxItems") == 0:
        return None
    return {
        "type": "object",
        "properties": {"evidence": evidence},
        "required": ["evidence"],
        "additionalProperties": False,
    }
