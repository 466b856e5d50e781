"""The fraud patterns a case shows plainly, computed by code: a `none` answer there is sent back.

The mirror of `pattern_check`: there the case rules out the type an answer names; here the case
shows the whole of a type's pattern, so an answer that no pattern fits contradicts it. Each
floor sits above what any honest user of the project's case sets shows (sim_v1 and sim_v2, dev
and test, hard negatives included: none of their 2,700 legitimate users shows one; but one honest
user of sim_v3_holdout3, written after v27's refund floor was set, shows that floor), and each
pattern is the taxonomy's own (FORMATS.md §3). Prompts add floors by name (`EXTRA_SHOWN`):
account takeover's from `verdict_v13` (`takeover_shown`), and from `verdict_v27` card testing by
declines alone and refund abuse by the value refunded (`declines_shown`,
`refunded_value_shown`), and from `verdict_v28` payment fraud by a new card paid with abroad
within the hour (`new_card_abroad_shown`). Order brushing has none: its evidence is a
sequence to weigh, not a count.
The model still names the type; the check only refuses `none` (with `accept_plain_none` a
second `none` on such a case falls back to a person)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from agent.linked_accounts import LinkedAccounts, linked_coupons
from agent.pattern_check import OR_NONE
from agent.render.evidence_facts import (
    ADDRESS_ACTIONS,
    CREDENTIAL_ACTIONS,
    REFUND_ACTIONS,
    at_quantity_limit,
    browsing_rhythm,
    cite,
    home_country,
    money,
    positions,
    refunded_amount,
    refunded_orders,
    reviews_unbought,
)
from agent.render.masking import mask_instrument
from detectors.events import Event

Shown = Callable[[list[Event]], str | None]
"""What the case shows of one type's pattern, citing events, or None when it falls short."""

DAY_S = 86_400.0
MACHINE_REGULAR = 0.35
"""Gap variation below this is a machine's rhythm (the simulators' bots whose pace the
timestamps resolve, a median gap of 2 s or more: ≤ 0.32; a person's exponential gaps: about 1).
Timestamps to the second make a sub-second bot's gaps 0 s and 1 s apart, irregular in
appearance: such a bot's pattern is not shown here."""


def _declines_on_many_cards(events: list[Event]) -> str | None:
    declined = positions(events, lambda e: e.action == "payment_attempt" and e.status == "declined")
    cards = {events[i].payment_method for i in declined if events[i].payment_method}
    if len(declined) < 3 or len(cards) < 3:
        return None
    return (
        f"{len(declined)} declined payment attempts on {len(cards)} instruments ({cite(declined)})"
    )


MANY_DECLINES = 5
"""Declined payment attempts that show card testing on any number of instruments: the
simulators' low-and-slow testers decline 5 to 8 times on two cards over days, while no
legitimate user of sim v1–v3 (every split) is declined more than 3 times."""


def _many_declines(events: list[Event]) -> str | None:
    declined = positions(events, lambda e: e.action == "payment_attempt" and e.status == "declined")
    if len(declined) < MANY_DECLINES:
        return None
    return f"{len(declined)} declined payment attempts ({cite(declined)})"


NEW_CARD_WINDOW_S = 3600.0
"""A payment method added and then paid with abroad within this long."""


def _new_card_billed_abroad(events: list[Event]) -> str | None:
    """A payment method added, then within an hour an approved payment with it billed to a
    country unlike the account's home (`home_country`), and no payment declined (card testing's
    declines show that type instead): the taxonomy's stolen instrument — new instrument,
    mismatched country, rushed checkout. In sim v1–v3 (every split, the three hold-outs
    included) it is shown by 10 to 13 of each set's 16 payment frauds and by no other user,
    honest travellers included (they pay abroad with the card of home)."""
    if any(e.action == "payment_attempt" and e.status == "declined" for e in events):
        return None
    for added, event in enumerate(events):
        if event.action != "payment_method_add" or event.payment_method is None:
            continue
        for paid in range(added + 1, len(events)):
            payment = events[paid]
            if payment.ts - event.ts > NEW_CARD_WINDOW_S:
                break
            if payment.action != "payment_attempt" or payment.status != "approved":
                continue
            billing = payment.attrs.get("billing_country") or payment.attrs.get("card_country")
            home = home_country(events, paid)
            if payment.payment_method == event.payment_method and billing and billing != home:
                card = mask_instrument(event.payment_method)
                return (
                    f"payment method {card} added ({cite([added])}) and paid with "
                    f"{_minutes(payment.ts - event.ts)} later, billed to {billing} while the "
                    f"account's home is {home} ({cite([paid])})"
                )
    return None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _regular_browsing_without_buying(events: list[Event]) -> str | None:
    rhythm = browsing_rhythm(events)
    if rhythm is None or any(e.action == "purchase" for e in events):
        return None
    session, variation = rhythm
    if len(session) < 40 or variation >= MACHINE_REGULAR:
        return None
    return (
        f"{len(session)} views or searches in one session at a machine-regular pace (gap "
        f"variation {variation:.2f}) ({cite(session)}), and no purchase"
    )


def _clicks_without_installs(events: list[Event]) -> str | None:
    clicks = positions(events, lambda e: e.action == "ad_click")
    if len(clicks) < 10 or any(e.action == "app_install" for e in events):
        return None
    return f"{len(clicks)} ad clicks ({cite(clicks)}) and no app install"


def _refunds_of_most_orders(events: list[Event]) -> str | None:
    refunds = positions(events, lambda e: e.action in REFUND_ACTIONS)
    purchases = sum(e.action == "purchase" for e in events)
    if len(refunds) < 4 or 2 * len(refunds) < purchases:
        return None
    return f"{len(refunds)} refunds or returns ({cite(refunds)}) after {purchases} purchases"


def _unreturned_refunds_of_half_the_value(events: list[Event]) -> str | None:
    """Two orders or more refunded with no item returned, worth at least half the value
    bought (taxonomy: "refunds above purchases"). The honest users of the sim v1–v3 files it
    was set on who refund two orders unreturned refund at most 34 % of what they bought; most
    refund abusers, 50 % or more. sim_v3_holdout3, written later, has one honest user who
    refunded both of their orders."""
    unreturned = [
        order
        for order in refunded_orders(events)
        if not any(events[i].action == "return" for i in order)
    ]
    bought = sum(e.amount or 0.0 for e in events if e.action == "purchase")
    refunded = refunded_amount(events, unreturned)
    if len(unreturned) < 2 or bought <= 0 or 2 * refunded < bought:
        return None
    ids = sorted(i for order in unreturned for i in order)
    return (
        f"{len(unreturned)} orders refunded with no item returned ({cite(ids)}), "
        f"{money(refunded)} of {money(bought)} bought"
    )


def _reviews_without_purchases(events: list[Event]) -> str | None:
    unbought = reviews_unbought(events)
    if len(unbought) < 3:
        return None
    return f"{len(unbought)} reviews of items not bought before ({cite(unbought)})"


def _maximum_quantity_buys(events: list[Event]) -> str | None:
    maxed = positions(events, lambda e: e.action == "purchase" and at_quantity_limit(e))
    if len(maxed) < 3:
        return None
    return f"{len(maxed)} maximum-quantity purchases ({cite(maxed)})"


def _coupon_spray(events: list[Event]) -> str | None:
    """At least 4 coupon redemptions of at least 3 codes within one day."""
    redeems = positions(events, lambda e: e.action == "coupon_redeem")
    for first, start in enumerate(redeems):
        day = [i for i in redeems[first:] if events[i].ts - events[start].ts <= DAY_S]
        codes = {str(events[i].attrs.get("coupon")) for i in day}
        if len(day) >= 4 and len(codes) >= 3:
            return f"{len(day)} coupon redemptions of {len(codes)} codes within a day ({cite(day)})"
    return None


TAKEOVER_WINDOW_S = 4 * 3600.0
"""A takeover's device is first seen at most this long before its login, and the credentials
change at most this long after it (sim_v2's quiet takeovers change them up to 3 hours later)."""
TAKEOVER_HISTORY = 20
"""Events on other devices before the new one: the account is the owner's, not a thin one set
up for fraud (sim_v1's payment fraud on thin accounts also logs in anew and changes the
address)."""
ACCOUNT_CHANGES = (CREDENTIAL_ACTIONS | ADDRESS_ACTIONS) - {"payment_method_add"}


def _credentials_changed_from_a_new_device(events: list[Event]) -> str | None:
    """A login from a device new to a long history, then a credential or address change."""
    # device → where it first appears, and how many events on other devices came before it
    first_seen: dict[str, tuple[int, int]] = {}
    with_device = 0
    for index, event in enumerate(events):
        if event.device_id is not None:
            first_seen.setdefault(event.device_id, (index, with_device))
            with_device += 1
    for index, login in enumerate(events):
        if login.action != "login" or login.status == "failed" or login.device_id is None:
            continue
        first, others = first_seen[login.device_id]
        if others < TAKEOVER_HISTORY or login.ts - events[first].ts > TAKEOVER_WINDOW_S:
            continue
        changes = [
            later
            for later in range(index + 1, len(events))
            if events[later].ts - login.ts <= TAKEOVER_WINDOW_S
            and events[later].action in ACCOUNT_CHANGES
        ]
        if changes:
            return (
                f"a login from device {login.device_id}, new after {first} earlier events "
                f"({cite([index])}), then {len(changes)} credential or address changes within "
                f"{TAKEOVER_WINDOW_S / 3600:.0f} hours ({cite(changes)})"
            )
    return None


SHOWN_BY: dict[str, Shown] = {
    "card_testing": _declines_on_many_cards,
    "scraping_bot": _regular_browsing_without_buying,
    "click_fraud": _clicks_without_installs,
    "refund_abuse": _refunds_of_most_orders,
    "fake_review": _reviews_without_purchases,
    "reseller_scalping": _maximum_quantity_buys,
    "promo_abuse": _coupon_spray,
}
"""Fraud type → what shows its whole pattern, for every prompt with `check_none`."""
EXTRA_SHOWN: dict[str, tuple[str, Shown]] = {
    "takeover": ("account_takeover", _credentials_changed_from_a_new_device),
    "declines": ("card_testing", _many_declines),
    "refunded_value": ("refund_abuse", _unreturned_refunds_of_half_the_value),
    "new_card_abroad": ("payment_fraud", _new_card_billed_abroad),
}
"""Floors a prompt adds by name (`VerdictPrompt.shown_extras`) → the type each shows; a type
with two shows its pattern when either holds, its own first."""
TYPE_ORDER = tuple(
    dict.fromkeys(["account_takeover", *SHOWN_BY, *(kind for kind, _ in EXTRA_SHOWN.values())])
)
"""The order types are named in: a takeover first, then the base floors', then any other type
a floor shows (so a floor for a type of its own is never dropped by `_shown_by`)."""


def _shown_by(extras: Collection[str]) -> dict[str, list[Shown]]:
    unknown = sorted(set(extras) - set(EXTRA_SHOWN))
    if unknown:
        raise ValueError(f"unknown shown-pattern floors {unknown}; known: {sorted(EXTRA_SHOWN)}")
    table = {fraud_type: [shows] for fraud_type, shows in SHOWN_BY.items()}
    for name in extras:
        fraud_type, shows = EXTRA_SHOWN[name]
        table.setdefault(fraud_type, []).append(shows)
    return {fraud_type: table[fraud_type] for fraud_type in TYPE_ORDER if fraud_type in table}


def _first_shown(events: list[Event], floors: list[Shown]) -> str | None:
    return next((reason for shows in floors if (reason := shows(events)) is not None), None)


def shown_patterns(
    events: list[Event], extras: Collection[str] = (), links: LinkedAccounts | None = None
) -> dict[str, str]:
    """The types whose pattern `events` show, each with what shows it (`extras`: the named
    floors of `EXTRA_SHOWN` too; `links`: promo abuse's across the accounts of the batch, a
    coupon redeemed by this account and one sharing its device or ip)."""
    found = {
        fraud_type: _first_shown(events, floors) for fraud_type, floors in _shown_by(extras).items()
    }
    if found["promo_abuse"] is None:
        found["promo_abuse"] = linked_coupons(links, events)
    return {fraud_type: reason for fraud_type, reason in found.items() if reason is not None}


def _describe(shown: dict[str, str]) -> str:
    return "; ".join(f"{kind}'s pattern: {reason}" for kind, reason in shown.items())


def none_problems(fraud_type: str, shown: dict[str, str]) -> list[str]:
    """The retry message's error when the answer is `none` but the case shows patterns
    (`shown`, from `shown_patterns`)."""
    if fraud_type != "none" or not shown:
        return []
    return [
        f"none does not fit this case: it shows {_describe(shown)}. Name the type whose "
        "pattern the evidence facts show"
    ]


def naming_shown_patterns(
    problems: list[str], fraud_type: str, shown: dict[str, str], own_type_too: bool = False
) -> list[str]:
    """An answer sent back anyway (its `problems`), on a case that shows (`shown`) a pattern
    other than the answer's type: the retry names what the case shows instead of offering
    `none` (`name_shown_patterns`; a first answer that follows a wrong detector guess, refuted,
    was otherwise answered with `none` the second time). With `own_type_too`
    (`trust_shown_pattern`) an answer whose own type's pattern is shown, sent back for how it
    explains it, is told to keep the type instead of being offered `none`."""
    if not problems or not shown:
        return problems
    named = [problem.replace(f", {OR_NONE}", "") for problem in problems]
    if fraud_type in shown:
        if not own_type_too:
            return problems
        return [
            *named,
            f"the case does show {_describe({fraud_type: shown[fraud_type]})}; keep {fraud_type}",
        ]
    if fraud_type == "none":  # none_problems already says what the case shows
        return named
    return [*named, f"the case shows {_describe(shown)}"]


def the_one_shown(shown: dict[str, str]) -> tuple[str, str] | None:
    """The type and what shows it when the case shows exactly one type's pattern."""
    return next(iter(shown.items())) if len(shown) == 1 else None
