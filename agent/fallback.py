"""The verdict when no model answer can be used: `manual_review` (or the policy's
`refuted_fallback` when the model's only claim was refuted), never dropped, never `allow`."""

from __future__ import annotations

from typing import cast, get_args

from agent.context import Context
from agent.verdict import FraudType, Verdict
from detectors.scores import SequenceScore


def detector_type_guess(score: SequenceScore) -> tuple[FraudType, float]:
    """The supervised head's most likely type, or (`none`, 0) when the detector has no head."""
    if not score.fraud_type_probs:
        return "none", 0.0
    name, probability = max(score.fraud_type_probs.items(), key=lambda item: item[1])
    if name not in get_args(FraudType):
        return "none", 0.0
    return cast(FraudType, name), min(1.0, max(0.0, probability))


DETECTOR_GUESS = "Type and confidence are the detector's guess."


def fallback_explanation(reason: str, basis: str = DETECTOR_GUESS) -> str:
    """What a fallback verdict tells the analyst: why, and where its type comes from."""
    return f"No model verdict ({reason}); sent to manual review. {basis}"


def refuted_explanation(reason: str, refuted: str) -> str:
    """A fallback whose model named `refuted`, a type its case's events rule out, on a case
    that shows no type's whole pattern (`clear_refuted`)."""
    return (
        f"No model verdict ({reason}). Type none: the model named {refuted}, which this case's "
        "events rule out, and the case shows no fraud type's whole pattern; the detector's "
        "flag is kept at the policy's action for such cases."
    )


def shown_type_guess(
    score: SequenceScore, fraud_type: str, shows: str
) -> tuple[FraudType, float, str]:
    """A fallback typed by the one pattern its case shows (`trust_shown_pattern`): the type,
    the detector's probability of it, and the basis for the explanation."""
    probability = (score.fraud_type_probs or {}).get(fraud_type, 0.0)
    basis = (
        f"Type: the case shows {fraud_type}'s pattern ({shows}); confidence is the "
        "detector's probability of it."
    )
    return cast(FraudType, fraud_type), min(1.0, max(0.0, probability)), basis


def failed_verdict(
    case_id: str, user_id: str, score: SequenceScore, error: BaseException, context: Context
) -> Verdict:
    """Kept in the output when an investigation itself raised: no flagged user is ever lost."""
    reason = f"investigation failed: {type(error).__name__}: {error}"
    fraud_type, confidence = detector_type_guess(score)
    return Verdict(
        case_id=case_id,
        user_id=user_id,
        detector_score=score.score,
        flagged=score.flagged,
        fraud_type=fraud_type,
        confidence=confidence,
        explanation=fallback_explanation(reason),
        evidence=[],
        action="manual_review",
        proposed_action=None,
        model=context.chat.name,
        prompt_version=context.prompt.version,
        detector_version=context.detector_version,
        fallback_reason=reason,
    )
