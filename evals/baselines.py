"""Verdicts without the LLM, run beside it on the same cases: detector-only and rules-only."""

from __future__ import annotations

from typing import cast

from agent.policy import PolicyInput, RiskPolicy
from agent.verdict import FraudType, RiskAction
from detectors.rules import RuleDetector
from detectors.scores import SequenceScore
from detectors.sequences import Sequence
from evals.records import Decision

NO_FRAUD_ACTION: RiskAction = "monitor"
"""What a rule-based system proposes for a flagged user it cannot name a fraud type for."""
RULE_FIRES_AT = 0.5
"""A rule whose strength reaches this flags the sequence (strengths are in [0, 1])."""
NOT_FLAGGED = Decision(flagged=False, fraud_type="none", action="allow")


def rule_based_decision(
    policy: RiskPolicy, fraud_type: str, confidence: float, score: float
) -> Decision:
    """The type's usual action in the policy's playbook, bounded by the same risk policy the
    agent's verdicts go through."""
    usual = policy.playbook.get(cast(FraudType, fraud_type))
    proposed = usual[0] if usual else NO_FRAUD_ACTION
    decided = policy.apply(
        PolicyInput(
            fraud_type=cast(FraudType, fraud_type),
            confidence=confidence,
            proposed_action=proposed,
            score=score,
            flagged=True,
        )
    )
    return Decision(flagged=True, fraud_type=fraud_type, action=decided.action)


def head_fraud_type(score: SequenceScore) -> str | None:
    """The supervised head's most likely type; None when the detector has no head."""
    probabilities = score.fraud_type_probs
    return max(probabilities, key=probabilities.__getitem__) if probabilities else None


def detector_only_decision(policy: RiskPolicy, score: SequenceScore) -> Decision:
    """The supervised head's most likely type (`none` without a head) and its fixed action."""
    if not score.flagged:
        return NOT_FLAGGED
    fraud_type = head_fraud_type(score) or "none"
    confidence = score.fraud_type_probs[fraud_type] if score.fraud_type_probs else 1.0
    return rule_based_decision(policy, fraud_type, confidence, score.score)


def rules_only_decision(policy: RiskPolicy, rules: RuleDetector, sequence: Sequence) -> Decision:
    """The strongest hand-written rule names the type, if any rule fires; no LSTM, no LLM."""
    strengths = rules.rule_strengths(sequence)
    fraud_type = max(strengths, key=strengths.__getitem__)
    if strengths[fraud_type] < RULE_FIRES_AT:
        return NOT_FLAGGED
    strength = strengths[fraud_type]
    return rule_based_decision(policy, fraud_type, strength, strength)
