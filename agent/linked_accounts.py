"""Accounts linked by a device or ip they share, within one batch of screened users.

Promo abuse is, in the taxonomy's words, "new or linked accounts (shared device/ip) redeeming
the same coupon or sign-up bonus" (FORMATS.md §3): one farm account's own events are those of
any new customer using a welcome coupon, and only the batch shows the farm. The callers that
screen a batch (`investigate`, `eval run`, alert enrichment) link its accounts once; prompts
with `linked_accounts` show the links as evidence facts and count a coupon redeemed by linked
accounts as promo abuse's whole pattern (agent.pattern_shown): two accounts of one device or
ip each redeeming a sign-up coupon.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass

from agent.render.evidence_facts import cite, positions
from agent.render.masking import mask_ip
from detectors.events import Event
from detectors.sequences import Sequence

IDENTITY_FIELDS: tuple[tuple[str, str], ...] = (("device", "device_id"), ("ip", "ip"))
"""(name shown, Event attribute) of the identities that link accounts."""
MAX_SHOWN = 3
"""Shared identities shown one per fact, the first used first; the rest are counted."""


@dataclass(frozen=True, slots=True)
class LinkedAccounts:
    """What one account shares with the other accounts of the batch it was screened in."""

    shared: tuple[tuple[str, str, int], ...] = ()
    """(`device` or `ip`, its value, how many other accounts used it), in order of first use."""
    coupon_accounts: int = 0
    """How many of the accounts sharing a device or ip with this one redeemed a coupon."""
    their_coupons: tuple[str, ...] = ()
    """The coupon codes those accounts redeemed."""

    def __bool__(self) -> bool:
        return bool(self.shared)


def _identities(event: Event) -> Iterator[tuple[str, str]]:
    for name, attribute in IDENTITY_FIELDS:
        value = getattr(event, attribute)
        if value is not None:
            yield name, value


def _redeemed(event: Event) -> str | None:
    """The coupon code of a redemption that did not fail."""
    if event.action != "coupon_redeem" or event.status == "failed":
        return None
    code = event.attrs.get("coupon")
    return str(code) if code is not None else None


def link_accounts(sequences: SequenceOf[Sequence]) -> list[LinkedAccounts]:
    """Each sequence's links to the other accounts (other user ids) of `sequences`, in order."""
    users_on: dict[tuple[str, str], set[str]] = defaultdict(set)
    coupons_of: dict[str, set[str]] = defaultdict(set)
    for sequence in sequences:
        for event in sequence.events:
            for identity in _identities(event):
                users_on[identity].add(sequence.user_id)
            code = _redeemed(event)
            if code is not None:
                coupons_of[sequence.user_id].add(code)
    links = []
    for sequence in sequences:
        own = dict.fromkeys(i for event in sequence.events for i in _identities(event))
        shared = [key for key in own if len(users_on[key]) > 1]
        others = set().union(*(users_on[key] for key in shared)) - {sequence.user_id}
        redeemers = [user for user in others if coupons_of[user]]
        their_coupons = set().union(*(coupons_of[user] for user in redeemers))
        links.append(
            LinkedAccounts(
                shared=tuple((*key, len(users_on[key]) - 1) for key in shared),
                coupon_accounts=len(redeemers),
                their_coupons=tuple(sorted(their_coupons)),
            )
        )
    return links


def _on(events: list[Event], kind: str, value: str) -> list[int]:
    attribute = dict(IDENTITY_FIELDS)[kind]
    return positions(events, lambda event: getattr(event, attribute) == value)


def _shown(kind: str, value: str) -> str:
    return mask_ip(value) if kind == "ip" else value


def describe_links(links: LinkedAccounts | None, events: list[Event]) -> list[str]:
    """Evidence facts, citing this account's events: the identities other accounts of the
    batch share, and the coupons an account sharing one redeemed too."""
    if not links:
        return []
    facts = []
    for kind, value, others in links.shared[:MAX_SHOWN]:
        accounts = f"{others} other account{'s' if others != 1 else ''}"
        facts.append(
            f"{kind} {_shown(kind, value)} ({cite(_on(events, kind, value))}) is used by "
            f"{accounts} of the users screened with this one"
        )
    if len(links.shared) > MAX_SHOWN:
        more = len(links.shared) - MAX_SHOWN
        facts.append(f"{more} more devices or ips of this account are used by other accounts")
    reason = linked_coupons(links, events)
    if reason is not None:
        facts.append(reason)
    return facts


def linked_coupons(links: LinkedAccounts | None, events: list[Event]) -> str | None:
    """Promo abuse's whole pattern across accounts: this account redeemed a coupon, and so did
    an account sharing its device or ip (citing this account's redemptions); None otherwise."""
    redeemed = positions(events, lambda event: _redeemed(event) is not None)
    if not links or not links.coupon_accounts or not redeemed:
        return None
    own = sorted({str(_redeemed(events[index])) for index in redeemed})
    accounts = f"{links.coupon_accounts} account{'s' if links.coupon_accounts != 1 else ''}"
    return (
        f"coupon {', '.join(own)} redeemed by this account ({cite(redeemed)}), and coupon "
        f"{', '.join(links.their_coupons)} by {accounts} sharing its device or ip"
    )
