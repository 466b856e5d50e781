"""A hand-written rule set, one rule per fraud type, behind the detector contract."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from typing import Self

import numpy as np

from detectors.base import BaseDetector, threshold_for_flag_rate
from detectors.events import Event
from detectors.sequences import Sequence

CREDENTIAL_ACTIONS = frozenset(
    ("password_reset", "email_change", "phone_change", "address_change", "two_factor_change")
)


def _count(events: list[Event], *actions: str) -> int:
    return sum(event.action in actions for event in events)


def _card_testing(events: list[Event]) -> float:
    """Declined payment attempts across several instruments."""
    declined = [e for e in events if e.action == "payment_attempt" and e.status == "declined"]
    instruments = {e.payment_method for e in declined if e.payment_method}
    return min(len(declined) / 5, 1.0) * (0.5 + 0.5 * (len(instruments) >= 3))


def _account_takeover(events: list[Event]) -> float:
    """Failed logins or a second device, then a credential change."""
    failed = sum(e.action == "login" and e.status == "failed" for e in events)
    devices = {e.device_id for e in events if e.device_id}
    changed = _count(events, *CREDENTIAL_ACTIONS)
    return float(changed > 0) * (0.5 * (failed >= 2) + 0.5 * (len(devices) >= 2))


def _payment_fraud(events: list[Event]) -> float:
    """A purchase over 500 soon (1 h) after sign-up or after adding an instrument."""
    start = [e.ts for e in events if e.action in ("account_signup", "payment_method_add")]
    big = [e for e in events if e.action == "purchase" and (e.amount or 0) > 500]
    return float(any(b.ts - s < 3600 for b in big for s in start if b.ts >= s))


def _order_brushing(events: list[Event]) -> float:
    """Purchases of items never viewed, then 5-star reviews."""
    viewed = {e.item_id for e in events if e.action == "view"}
    blind = [e for e in events if e.action == "purchase" and e.item_id not in viewed]
    five = sum(e.action == "review" and e.rating == 5 for e in events)
    return min(len(blind) / 2, 1.0) * (0.5 + 0.5 * (five > 0))


def _fake_review(events: list[Event]) -> float:
    """More reviews than purchases."""
    reviews, purchases = _count(events, "review"), _count(events, "purchase")
    return min(max(reviews - purchases, 0) / 2, 1.0)


def _promo_abuse(events: list[Event]) -> float:
    """Coupons redeemed by a brand-new account."""
    return float(_count(events, "account_signup") > 0 and _count(events, "coupon_redeem") > 0)


def _scraping_bot(events: list[Event]) -> float:
    """Many fast views, no cart, no purchase."""
    views = [e.ts for e in events if e.action == "view"]
    if len(views) < 30 or _count(events, "add_to_cart", "purchase"):
        return 0.0
    return float(np.median(np.diff(views)) < 5)


def _reseller_scalping(events: list[Event]) -> float:
    """Purchases of 5 or more of an item."""
    quantities = [e.quantity or 0 for e in events if e.action == "purchase"]
    return float(max(quantities, default=0) >= 5)


def _refund_abuse(events: list[Event]) -> float:
    """Refunds and returns outnumbering half the purchases, at least two."""
    refunds, purchases = _count(events, "refund_request", "return"), _count(events, "purchase")
    return float(refunds >= 2 and refunds >= purchases / 2)


def _click_fraud(events: list[Event]) -> float:
    """Ten or more ad clicks with no install or purchase."""
    clicks = _count(events, "ad_click")
    return float(clicks >= 10 and not _count(events, "app_install", "purchase"))


RULES: dict[str, Callable[[list[Event]], float]] = {
    "card_testing": _card_testing,
    "account_takeover": _account_takeover,
    "payment_fraud": _payment_fraud,
    "order_brushing": _order_brushing,
    "fake_review": _fake_review,
    "promo_abuse": _promo_abuse,
    "scraping_bot": _scraping_bot,
    "reseller_scalping": _reseller_scalping,
    "refund_abuse": _refund_abuse,
    "click_fraud": _click_fraud,
}
"""Fraud type → rule strength in [0, 1]."""


class RuleDetector(BaseDetector):
    """Score = the strongest rule hit (sum of all hits / 100 breaks ties); nothing is learned."""

    def __init__(self, contamination: float = 0.05) -> None:
        self.contamination = contamination
        self.threshold_: float | None = None

    def fit(self, sequences: SequenceOf[Sequence], labels: SequenceOf[str] | None = None) -> Self:
        """Only the threshold is fitted (for the contamination rate); the rules are fixed."""
        if not sequences:
            raise ValueError("cannot fit on 0 sequences; need ≥ 1")
        self.threshold_ = threshold_for_flag_rate(
            self.decision_function(sequences), self.contamination
        )
        return self

    def rule_strengths(self, sequence: Sequence) -> dict[str, float]:
        return {name: rule(sequence.events) for name, rule in RULES.items()}

    def decision_function(self, sequences: SequenceOf[Sequence]) -> np.ndarray:
        scores = []
        for sequence in sequences:
            strengths = list(self.rule_strengths(sequence).values())
            scores.append(max(strengths) + sum(strengths) / 100)
        return np.asarray(scores, dtype=np.float64)
