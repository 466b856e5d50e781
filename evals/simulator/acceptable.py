"""Which risk actions a careful analyst accepts for each simulated case kind, preferred first."""

from __future__ import annotations

ACCEPTABLE_ACTIONS: dict[str, list[str]] = {
    "none": ["allow", "monitor"],
    "account_takeover": ["block_account", "hold_order", "step_up_auth", "manual_review"],
    "card_testing": ["block_account", "manual_review"],
    "payment_fraud": ["hold_order", "block_account", "manual_review"],
    "order_brushing": ["manual_review", "block_account"],
    "fake_review": ["manual_review", "block_account"],
    "promo_abuse": ["manual_review", "hold_order", "block_account"],
    # A challenge (CAPTCHA) stops a scraper as well as a block does; a human look is also fine.
    "scraping_bot": ["block_account", "step_up_auth", "manual_review"],
    "reseller_scalping": ["hold_order", "manual_review"],
    "refund_abuse": ["manual_review", "hold_order"],
    "click_fraud": ["block_account", "manual_review"],
}
HARD_NEGATIVE_ACTIONS: list[str] = ["allow", "monitor", "step_up_auth"]
"""Honest but unusual users: a step-up challenge is an acceptable precaution, nothing harsher."""


def acceptable_actions(fraud_type: str, hard_negative: bool = False) -> list[str]:
    """The acceptable actions for a case, preferred first (a fresh list the caller may keep)."""
    if hard_negative:
        return list(HARD_NEGATIVE_ACTIONS)
    return list(ACCEPTABLE_ACTIONS[fraud_type])
