"""Which kinds of event an explanation of each fraud type may rest on (FORMATS.md §3).

One table for two users: the agent sends back an answer whose cited events are not of its
type's kinds (prompts with `check_cited_kinds`), and the eval's faithfulness scorer
(evals/faithfulness.py) counts the verdicts that cite them."""

from __future__ import annotations

import re

from agent.pattern_check import OR_NONE
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
_EVENT_ID = re.compile(r"^e(\d+)$")


def cited_events(evidence: list[str], events: list[Event]) -> list[Event] | None:
    """The events `evidence` (`e0`, `e1`, …) names; None when an id does not exist."""
    cited = []
    for event_id in evidence:
        match = _EVENT_ID.match(event_id)
        if match is None or int(match.group(1)) >= len(events):
            return None
        cited.append(events[int(match.group(1))])
    return cited


def kind_problems(fraud_type: str, evidence: list[str], events: list[Event]) -> list[str]:
    """What is wrong with the kinds of event a `fraud_type` answer cites: events outside the
    type's kinds, and its defining kind missing. Empty for `none`, or for ids that do not exist
    (the grounding check names those)."""
    cited = cited_events(evidence, events)
    if fraud_type == "none" or cited is None:
        return []
    if not cited:
        return [f"{fraud_type} cites no event"]
    allowed = EVIDENCE_KINDS[fraud_type]
    problems = []
    outside = [
        f"{event_id} ({event.action})"
        for event_id, event in zip(evidence, cited, strict=True)
        if event.action not in allowed
    ]
    if outside:
        problems.append(f"{fraud_type} does not rest on {', '.join(outside)}")
    required = REQUIRED_KINDS.get(fraud_type)
    if required and not {event.action for event in cited} & required:
        problems.append(f"{fraud_type} needs a cited {' or '.join(sorted(required))} event")
    return problems


def cited_kind_problems(fraud_type: str, evidence: list[str], events: list[Event]) -> list[str]:
    """The retry message's error when a fraud answer cites events its type does not rest on."""
    problems = kind_problems(fraud_type, evidence, events)
    if not problems:
        return []
    kinds = ", ".join(sorted(EVIDENCE_KINDS[fraud_type]))
    return [
        f"the evidence does not show {fraud_type}: {'; '.join(problems)}. Cite the events of "
        f"this case that show the type you name ({fraud_type}: {kinds}), {OR_NONE}"
    ]
