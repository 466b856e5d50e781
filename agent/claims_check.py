"""What a fraud answer's explanation states about its case, checked against the events.

Asked for "the facts of this case that show the type", a small model sometimes writes the
type's definition as if it were the case's facts: "3 purchases of the same item, 5★ reviews"
for a traveller with 2 purchases and no review at all, "8 purchases followed by 7 refund
requests" for a case without a refund. Every event kind the explanation names ("refund
requests", "5★ reviews", "failed logins", "ad clicks"), with the count written before it
when there is one, is a claim: a kind the case does not have, or more of it than the case
has, is a claim the case refutes, and the answer is sent back once with what the case does
show. A count may be of a subset ("3 purchases" among 5), so only over-counting refutes;
"of the same item" counts the events of the one item the case has most of; negated mentions
("no refunds", "without a purchase") claim nothing.
An answer of `none` explains what is unusual and what is missing, and is not checked."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from agent.grounding import without_opening
from agent.pattern_check import OR_NONE
from agent.render.evidence_facts import REFUND_ACTIONS
from detectors.events import Event


@dataclass(frozen=True, slots=True)
class EventKind:
    """A kind of event an explanation can name: how it is written and which events are it."""

    name: str
    """How the retry message names it (plural)."""
    written: str
    """Regex for the words that name it (lower case)."""
    test: Callable[[Event], bool]


def _action(*actions: str) -> Callable[[Event], bool]:
    return lambda event: event.action in actions


EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("reviews", r"reviews?", _action("review")),
    EventKind("purchases", r"purchases?", _action("purchase")),
    EventKind("refunds or returns", r"refunds?(?: requests?)?|returns", _action(*REFUND_ACTIONS)),
    EventKind(
        "declined payment attempts",
        r"declines|declined(?: payments?| payment attempts?| attempts?| cards?)?",
        lambda event: event.action == "payment_attempt" and event.status == "declined",
    ),
    EventKind("payment attempts", r"payment[ _]attempts?", _action("payment_attempt")),
    EventKind(
        "failed logins",
        r"failed logins?|login failures?",
        lambda event: event.action == "login" and event.status == "failed",
    ),
    EventKind("ad clicks", r"ad[ _]clicks?", _action("ad_click")),
    EventKind("app installs", r"app[ _]installs?", _action("app_install")),
    EventKind(
        "coupon redemptions",
        r"coupon(?:[ _]redemptions?|[ _]redeems?|s)?|coupon codes?",
        _action("coupon_redeem"),
    ),
    EventKind("sign-ups", r"sign-?ups?|account[ _]signups?", _action("account_signup")),
    EventKind("password resets", r"password[ _](?:resets?|changes?)", _action("password_reset")),
    EventKind("email changes", r"e-?mail[ _]changes?", _action("email_change")),
    EventKind("phone changes", r"phone[ _]changes?", _action("phone_change")),
    EventKind("address changes", r"address[ _]changes?", _action("address_change")),
    EventKind(
        "2FA changes", r"2fa[ _]changes?|two[ _]factor[ _]changes?", _action("two_factor_change")
    ),
    EventKind(
        "added payment methods",
        r"payment[ _]method[ _]adds?|payment methods? added",
        _action("payment_method_add"),
    ),
)
"""The event kinds checked, longer spellings before shorter ones that they contain."""

_NEGATIONS = frozenset(
    ("no", "not", "nor", "without", "never", "zero", "0", "none", "lacks", "lacking", "absent")
)
_CLAUSE_BREAK = re.compile(r"[;.:()\n]|\b(?:but|then|followed|while|whereas)\b")
"""A negation negates the kinds after it up to the end of its clause ("no search, cart or
purchase")."""
_COUNT = re.compile(r"(?<![\w.])(\d[\d,]*)\s*×?\s+((?:[\w-]+\s+){0,2})$")
"""A count right before the kind, up to two words between ("7 refund", "5 maximum-quantity")."""
_STARS = re.compile(r"([1-5])\s*★\s*$")
_LABEL = re.compile(r"^\s*:\s*(\d[\d,]*)?")
"""A kind followed by a colon labels what comes next: its count ("payment attempts: 30") or
a list of facts ("credential or address changes: …")."""
_SAME_ITEM = re.compile(
    r"^\s+(?:of|for|on)\s+(?:the\s+)?(?:same|one|a single)\s+(?:item|product)\b"
)
"""A kind followed by "of the same item" ("4 purchases of the same item"): repeats of one."""
_WORD = re.compile(r"[\w★-]+")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Claim:
    """One event kind an explanation names, with what it says of it."""

    kind: EventKind
    stars: int | None
    """Only reviews of this rating ("5★ reviews")."""
    count: int | None
    """At least this many ("7 refund requests"); None: at least one."""
    same_item: bool = False
    """All of one item ("4 purchases of the same item")."""

    def refuted_by(self, events: list[Event]) -> str | None:
        """What the case shows instead, when it shows less than claimed."""
        matching = [
            event
            for event in events
            if self.kind.test(event) and (self.stars is None or event.rating == self.stars)
        ]
        has = len(matching)
        if self.same_item:
            has = max(Counter(event.item_id for event in matching).values(), default=0)
        wanted = 1 if self.count is None else self.count
        if has >= wanted:
            return None
        named = f"{self.stars}★ {self.kind.name}" if self.stars else self.kind.name
        stated = f"{self.count} {named}" if self.count is not None else named
        if self.same_item:
            return f"{stated} of the same item (the case has at most {has} of one item)"
        return f"{stated} (the case has {has})"


def stated_claims(explanation: str) -> list[Claim]:
    """The event kinds an explanation names positively, with their counts and ratings."""
    text = without_opening(explanation)
    lower = text.lower()
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for kind in EVENT_KINDS:
        for match in re.finditer(rf"(?<![\w-])(?:{kind.written})(?![\w-])", lower):
            start, end = match.span()
            if any(start < stop and end > begin for begin, stop in taken):
                continue
            taken.append((start, end))
            claim = _claim_at(text[:start], text[end:], kind)
            if claim is not None:
                claims.append(claim)
    return claims


def _claim_at(before: str, after: str, kind: EventKind) -> Claim | None:
    """The claim on `kind` given the text around it; None when it claims nothing (negated, a
    count of 0, or a label of a list)."""
    label = _LABEL.match(after)
    if label and label.group(1) is None:
        return None
    clause = _CLAUSE_BREAK.split(before.lower())[-1]
    if _NEGATIONS.intersection(_WORD.findall(clause)):
        return None
    stars = _STARS.search(before)
    head = before[: stars.start()] if stars else before
    count = _COUNT.search(head)
    if count and any(_CURRENCY.match(word) for word in count.group(2).split()):
        count = None
    written = label.group(1) if label else count.group(1) if count else None
    number = int(written.replace(",", "")) if written is not None else None
    if number == 0:
        return None
    same_item = _SAME_ITEM.match(after) is not None
    return Claim(kind, int(stars.group(1)) if stars else None, number, same_item)


def claim_problems(fraud_type: str, explanation: str, events: list[Event]) -> list[str]:
    """The retry message's error when a fraud answer states events its case does not have."""
    if fraud_type == "none":
        return []
    reasons = (claim.refuted_by(events) for claim in stated_claims(explanation))
    refuted = list(dict.fromkeys(reason for reason in reasons if reason is not None))
    if not refuted:
        return []
    return [
        f"the explanation states what the case does not show: {'; '.join(refuted)}. State only "
        "facts the evidence facts show, with their numbers; name the type whose pattern they "
        f"show, {OR_NONE}"
    ]
