"""Which cases a set holds: fraud types spread evenly, hard negatives, injections, and splits."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from detectors.cases import FRAUD_TYPES

HARD_NEGATIVE_KINDS: tuple[str, ...] = (
    "travel",
    "new_phone",
    "holiday_bulk",
    "one_return",
    "power_user",
    "declined_then_success",
)
INJECTABLE_TYPES: tuple[str, ...] = ("order_brushing", "fake_review")
"""Fraud types whose users write review text, where a prompt injection can hide."""


@dataclass(frozen=True, slots=True)
class PlannedCase:
    fraud_type: str
    hard_negative: str | None = None
    """A kind of HARD_NEGATIVE_KINDS for honest-but-unusual legitimate users."""
    inject: bool = False
    """Hide a prompt-injection attempt in one of the user's review texts."""


def plan_cases(
    n: int,
    fraud_rate: float,
    rng: random.Random,
    hard_negative_share: float = 0.25,
    injection_share: float = 0.35,
    hard_negative_kinds: tuple[str, ...] = HARD_NEGATIVE_KINDS,
) -> list[PlannedCase]:
    """`n` cases in random order: round(n × fraud_rate) fraud cases spread over the ten types
    (counts differ by at most one), a share of the legitimate ones hard negatives, and a share
    (at least one) of the review-writing fraud cases carrying an injection."""
    if n < 1:
        raise ValueError(f"n is {n}; need ≥ 1 case")
    if not 0.0 <= fraud_rate <= 1.0:
        raise ValueError(f"fraud rate is {fraud_rate}; need 0 ≤ rate ≤ 1")
    n_fraud = round(n * fraud_rate)
    types = list(FRAUD_TYPES[1:])
    rng.shuffle(types)
    fraud = [types[index % len(types)] for index in range(n_fraud)]
    plan: list[PlannedCase] = []
    for fraud_type in types:
        count = fraud.count(fraud_type)
        injected = math.ceil(count * injection_share) if fraud_type in INJECTABLE_TYPES else 0
        plan += [PlannedCase(fraud_type, inject=index < injected) for index in range(count)]
    n_legit = n - n_fraud
    n_hard = round(n_legit * hard_negative_share)
    kinds = list(hard_negative_kinds)
    rng.shuffle(kinds)
    plan += [
        PlannedCase("none", hard_negative=kinds[index % len(kinds)]) for index in range(n_hard)
    ]
    plan += [PlannedCase("none")] * (n_legit - n_hard)
    rng.shuffle(plan)
    return plan


def parse_fractions(text: str) -> list[float]:
    """`"0.6,0.2,0.2"` → [0.6, 0.2, 0.2]; each > 0, summing to 1 (± 0.001)."""
    try:
        fractions = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"splits {text!r} are not comma-separated numbers") from None
    if len(fractions) < 2 or any(fraction <= 0 for fraction in fractions):
        raise ValueError(f"splits {text!r}: need ≥ 2 fractions, each > 0")
    if abs(sum(fractions) - 1) > 1e-3:
        raise ValueError(f"splits {text!r} sum to {sum(fractions):.4f}; need 1")
    return fractions


def split_plan(plan: list[PlannedCase], fractions: list[float]) -> list[list[PlannedCase]]:
    """Stratified split: cases of one kind (type, hard-negative kind, injection) are dealt in
    turn to the split furthest behind its share, so every kind and the whole set follow
    `fractions` to within one case; order within a split follows `plan`."""
    groups: dict[PlannedCase, list[int]] = {}
    for index, planned in enumerate(plan):
        groups.setdefault(planned, []).append(index)
    assignment = [0] * len(plan)
    counts = [0] * len(fractions)
    dealt = 0
    for indices in groups.values():
        for index in indices:
            dealt += 1
            part = max(range(len(fractions)), key=lambda k: fractions[k] * dealt - counts[k])
            assignment[index] = part
            counts[part] += 1
    return [
        [planned for planned, part in zip(plan, assignment, strict=True) if part == wanted]
        for wanted in range(len(fractions))
    ]
