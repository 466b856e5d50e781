"""The detector type guess the model is shown: as scored, hidden, or replaced by a wrong type."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from detectors.scores import SequenceScore

TypeGuess = Literal["shown", "hidden", "wrong"]
TYPE_GUESSES: tuple[TypeGuess, ...] = ("shown", "hidden", "wrong")


def shown_guess(score: SequenceScore) -> str:
    """The type at the top of the detector's probabilities, or `hidden` when there are none."""
    probabilities = score.fraud_type_probs
    return max(probabilities, key=probabilities.__getitem__) if probabilities else "hidden"


def perturb_guess(score: SequenceScore, label: str, mode: TypeGuess) -> SequenceScore:
    """`shown`: as it is. `hidden`: no type probabilities. `wrong`: the most likely type other
    than the true `label` swaps probabilities with the top, so a plausible wrong type leads."""
    if mode == "shown" or not score.fraud_type_probs:
        return score
    if mode == "hidden":
        return replace(score, fraud_type_probs={})
    probabilities = dict(score.fraud_type_probs)
    ranked = sorted(probabilities, key=lambda name: -probabilities[name])
    wrong = next(name for name in ranked if name != label)
    top = ranked[0]
    probabilities[top], probabilities[wrong] = probabilities[wrong], probabilities[top]
    return replace(score, fraud_type_probs=probabilities)
