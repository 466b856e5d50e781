"""Hand-built `cases.jsonl` records for the eval harness tests."""

from __future__ import annotations

from typing import Any

from evals.records import CaseRecord, Decision


def make_record(
    case_id: str,
    label: str,
    *,
    score: float = 0.5,
    flagged: bool = True,
    verdict_type: str | None = None,
    action: str | None = None,
    acceptable: list[str] | None = None,
    tags: list[str] | None = None,
    fallback: bool = False,
    evidence: list[str] | None = None,
    latency_s: float = 1.0,
) -> CaseRecord:
    """A finished case; the verdict defaults to the right type with the first acceptable action."""
    acceptable = acceptable or (["allow", "monitor"] if label == "none" else ["hold_order"])
    verdict: dict[str, Any] | None = None
    if flagged:
        verdict = {
            "case_id": case_id,
            "fraud_type": verdict_type or label,
            "action": action or acceptable[0],
            "evidence": ["e0"] if evidence is None else evidence,
            "fallback_reason": "invalid_output" if fallback else None,
        }
    no_flag = Decision(flagged=False, fraud_type="none", action="allow")
    return CaseRecord(
        case_id=case_id,
        user_id=f"u-{case_id}",
        label=label,
        acceptable_actions=acceptable,
        tags=tags or [],
        n_events=3,
        detector_score=score,
        flagged=flagged,
        verdict=verdict,
        schema_valid=None if not flagged else not fallback,
        evidence_grounded=None if not flagged else bool(verdict and verdict["evidence"]),
        baselines={"detector_only": no_flag, "rules_only": no_flag},
        latency_s=latency_s if flagged else 0.0,
        llm_calls=1 if flagged else 0,
        prompt_tokens=100 if flagged else 0,
        completion_tokens=20 if flagged else 0,
    )
