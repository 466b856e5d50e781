"""Which kinds of event each fraud type rests on (FORMATS.md §3): what a verdict of that type
must cite. The agent retries an answer whose evidence cannot show its type; the evals score
faithfulness with the same table."""

from __future__ import annotations

from collections.abc import Sequence

from detectors.events import Event

PURCHASE_PATH = frozenset(("checkout", "payment_attempt", "purchase"))
CREDENTIALS = frozenset(
    (
        "login",
        "password_reset",
        "email_change",
        "phone_change",
        "address_change",
        "two_factor_change",
        "payment_method_add",
    )
)
EVIDENCE_KINDS: dict[str, frozenset[str]] = {
    "account_takeover": CREDENTIALS | PURCHASE_PATH | {"logout"},
    "card_testing": frozenset(("payment_attempt", "payment_method_add", "checkout")),
    "payment_fraud": PURCHASE_PATH | {"payment_method_add", "account_signup", "add_to_cart"},
    "order_brushing": PURCHASE_PATH | {"review", "add_to_cart"},
    "fake_review": frozenset(("review",)),
    "promo_abuse": PURCHASE_PATH | {"coupon_redeem", "account_signup"},
    "scraping_bot": frozenset(("view", "search")),
    "reseller_scalping": PURCHASE_PATH | {"add_to_cart"},
    "refund_abuse": frozenset(("refund_request", "return", "purchase")),
    "click_fraud": frozenset(("ad_click", "app_install")),
}
"""The event kinds an explanation of each fraud type may rest on; `none` may cite anything
(it explains what raised the alarm)."""
REQUIRED_KINDS: dict[str, frozenset[str]] = {
    "card_testing": frozenset(("payment_attempt",)),
    "refund_abuse": frozenset(("refund_request", "return")),
    "fake_review": frozenset(("review",)),
    "click_fraud": frozenset(("ad_click",)),
    "scraping_bot": frozenset(("view", "search")),
    "promo_abuse": frozenset(("coupon_redeem", "account_signup")),
}
"""Types that stand on one kind of event: at least one cited event must be of it."""


def _kinds(kinds: frozenset[str]) -> str:
    return " or ".join(sorted(kinds))


def evidence_kind_problem(fraud_type: str, cited: Sequence[Event]) -> str | None:
    """Why events of these kinds cannot show `fraud_type` (None: they can): none of them is of
    a kind the type rests on, or the type's defining kind is missing. Lenient on purpose: one
    fitting event is enough, so that an answer citing one extra event is not sent back."""
    if fraud_type == "none" or not cited:
        return None
    kinds = {event.action for event in cited}
    required = REQUIRED_KINDS.get(fraud_type, EVIDENCE_KINDS[fraud_type])
    if kinds & required:
        return None
    return (
        f"{fraud_type} rests on {_kinds(required)} events, and the evidence cites only "
        f"{_kinds(frozenset(kinds))} events: name the type these events show (or none), "
        f"or cite the {fraud_type} events of this case"
    )
