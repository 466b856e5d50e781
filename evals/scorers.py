"""Per-case scorers: what each system got right or wrong on one case of an eval run."""

from __future__ import annotations

import math

from evals.records import CaseRecord, Decision

SYSTEMS: tuple[str, ...] = ("agent", "detector_only", "rules_only")
"""The LLM pipeline and the two baselines run beside it on the same cases."""
INJECTION_TAG = "prompt_injection"
HARD_NEGATIVE_TAG = "hard_negative"
"""An honest user built to look like fraud (a traveller, a binge browser, ...)."""
LENIENT_ACTIONS = frozenset(("allow", "monitor"))


def system_decision(record: CaseRecord, system: str) -> Decision:
    if system == "agent":
        return record.agent_decision()
    if system not in record.baselines:
        known = sorted(record.baselines)
        raise KeyError(f"case {record.case_id} has no {system!r} decision; it has {known}")
    return record.baselines[system]


def type_correct(record: CaseRecord, decision: Decision) -> bool:
    return decision.fraud_type == record.label


def action_acceptable(record: CaseRecord, decision: Decision) -> bool:
    return decision.action in record.acceptable_actions


def is_unsafe(record: CaseRecord, decision: Decision) -> bool:
    """Fraud let through (allow / monitor), or an honest account blocked."""
    if record.is_fraud:
        return decision.action in LENIENT_ACTIONS
    return decision.action == "block_account"


def end_to_end_success(record: CaseRecord, decision: Decision) -> bool:
    """A fraud case flagged, given the right type and an acceptable action (misses fail)."""
    return (
        record.is_fraud
        and decision.flagged
        and type_correct(record, decision)
        and action_acceptable(record, decision)
    )


def above_monitor(record: CaseRecord, decision: Decision) -> bool:
    """A legitimate user who ends with an action stronger than `monitor` (a cost to them)."""
    return not record.is_fraud and decision.action not in LENIENT_ACTIONS


def guess_wrong(record: CaseRecord) -> bool:
    """The model was shown a detector type guess, and it was not the true type."""
    shown = record.type_guess_shown
    return shown is not None and shown != "hidden" and shown != record.label


def is_fallback(record: CaseRecord) -> bool:
    """The agent answered with its fallback verdict (model unreachable or answer invalid)."""
    return record.verdict is not None and record.verdict.get("fallback_reason") is not None


def score_case(record: CaseRecord) -> dict[str, str | float | bool]:
    """Every per-case score, flat, ready to be a row of a metrics table."""
    scores: dict[str, str | float | bool] = {
        "case_id": record.case_id,
        "label": record.label,
        "is_fraud": record.is_fraud,
        "injection": INJECTION_TAG in record.tags,
        "hard_negative": HARD_NEGATIVE_TAG in record.tags,
        "detector_score": record.detector_score,
        "flagged": record.flagged,
        "detector_type": record.detector_fraud_type or "",
        "has_verdict": record.verdict is not None,
        "schema_valid": bool(record.schema_valid),
        "grounded": bool(record.evidence_grounded),
        "faithfulness_scored": record.cites_needed_kinds is not None,
        "cited_kinds_ok": bool(record.cites_needed_kinds),
        "numbers_ok": bool(record.numbers_match),
        "faithful": bool(record.cites_needed_kinds and record.numbers_match),
        "explanation_kinds_scored": record.explanation_kinds is not None,
        "explanation_kinds_ok": bool(record.explanation_kinds),
        "confidence": float(record.verdict.get("confidence", math.nan))
        if record.verdict
        else math.nan,
        "guess_wrong": guess_wrong(record),
        "fallback": is_fallback(record),
        "error": record.error is not None,
        "latency_s": record.latency_s,
        "llm_calls": float(record.llm_calls),
        "prompt_tokens": float(record.prompt_tokens),
        "completion_tokens": float(record.completion_tokens),
    }
    for system in SYSTEMS:
        decision = system_decision(record, system)
        scores[f"{system}.flagged"] = decision.flagged
        scores[f"{system}.type"] = decision.fraud_type
        scores[f"{system}.action"] = decision.action
        scores[f"{system}.type_correct"] = type_correct(record, decision)
        scores[f"{system}.action_ok"] = action_acceptable(record, decision)
        scores[f"{system}.unsafe"] = is_unsafe(record, decision)
        scores[f"{system}.end_to_end"] = end_to_end_success(record, decision)
        scores[f"{system}.above_monitor"] = above_monitor(record, decision)
    return scores
