"""Faithfulness: cited events of the kinds the chosen type needs; stated numbers from the case."""

from __future__ import annotations

import math
import re

from agent.grounding import case_text
from agent.render.case import RenderOptions, render_case
from agent.render.evidence_facts import describe_evidence_v2
from agent.verdict import Verdict
from detectors.events import Event
from detectors.scores import SequenceScore
from detectors.sequences import Sequence

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
"""The event kinds an explanation of each fraud type may rest on (FORMATS.md §3); `none` may
cite anything (it explains what raised the alarm)."""
REQUIRED_KINDS: dict[str, frozenset[str]] = {
    "card_testing": frozenset(("payment_attempt",)),
    "refund_abuse": frozenset(("refund_request", "return")),
    "fake_review": frozenset(("review",)),
    "click_fraud": frozenset(("ad_click",)),
    "scraping_bot": frozenset(("view", "search")),
    "promo_abuse": frozenset(("coupon_redeem", "account_signup")),
}
"""Types that stand on one kind of event: at least one cited event must be of it."""
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_EVENT_ID = re.compile(r"^e(\d+)$")


def cited_events(verdict: Verdict, events: list[Event]) -> list[Event] | None:
    """The events the verdict cites; None when an id does not exist."""
    cited = []
    for event_id in verdict.evidence:
        match = _EVENT_ID.match(event_id)
        if match is None or int(match.group(1)) >= len(events):
            return None
        cited.append(events[int(match.group(1))])
    return cited


def cites_needed_kinds(verdict: Verdict, events: list[Event]) -> bool:
    """Every cited event is of a kind the chosen type rests on, and the type's defining kind is
    among them (refund abuse cites a refund or return, card testing a payment attempt, …)."""
    cited = cited_events(verdict, events)
    if cited is None:
        return False
    if verdict.fraud_type == "none":
        return True
    if not cited:
        return False
    kinds = {event.action for event in cited}
    if not kinds <= EVIDENCE_KINDS[verdict.fraud_type]:
        return False
    required = REQUIRED_KINDS.get(verdict.fraud_type)
    return required is None or bool(kinds & required)


def numbers_in(text: str) -> list[float]:
    """Numbers written in `text`, not those inside ids or words (`e12`, `2FA`)."""
    return [float(token.replace(",", "")) for token in _NUMBER.findall(text)]


def stated_numbers_match(verdict: Verdict, sequence: Sequence, score: SequenceScore | None) -> bool:
    """Every number the explanation states appears in the case as fully rendered (every list of
    facts, those measured against the user's baseline too, and the whole timeline)."""
    case = render_case(sequence, score, RenderOptions(token_budget=1_000_000))
    baseline = describe_evidence_v2(sequence.events, baseline=True)
    known = numbers_in("\n".join([case_text(case), *baseline]))
    return all(
        any(math.isclose(stated, value, abs_tol=0.006) for value in known)
        for stated in numbers_in(verdict.explanation)
    )
