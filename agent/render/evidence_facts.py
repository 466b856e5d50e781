"""Per-type evidence computed by code, each fact citing its event ids: what the model reasons on."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable
from difflib import SequenceMatcher
from itertools import pairwise

from agent.render.facts import event_id, first_sightings
from agent.render.time_format import format_duration
from detectors.events import Event

MAX_CITED = 4
"""Event ids listed per fact; longer lists show their count."""
CREDENTIAL_ACTIONS = frozenset(
    ("password_reset", "email_change", "phone_change", "two_factor_change", "payment_method_add")
)
ADDRESS_ACTIONS = frozenset(("address_change",))
REFUND_ACTIONS = frozenset(("refund_request", "return"))
NEAR_COPY_RATIO = 0.85
"""Two review texts at least this similar (difflib ratio) count as near copies."""
CASH_OUT_WORDS = ("gift", "voucher", "smartphone", "notebook", "laptop", "console", "electronics")
"""Category words of items that resell easily: what a taken-over account is emptied into."""
MIN_PACE_EVENTS = 5
"""Rates and gap regularity are only stated for at least this many events."""
SESSION_BREAK_S = 1800.0
"""A pause longer than this between two views ends a browsing session."""


def cite(indices: list[int]) -> str:
    """`e3–e6, e9` for indices [3, 4, 5, 6, 9]; more than MAX_CITED runs end in `(+N more)`."""
    runs: list[tuple[int, int]] = []
    for index in sorted(set(indices)):
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    shown = [
        event_id(start) if start == end else f"{event_id(start)}–{event_id(end)}"
        for start, end in runs[:MAX_CITED]
    ]
    more = len(runs) - MAX_CITED
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


_CITED_RUN = re.compile(r"\be(\d+)(?:–e(\d+))?")
"""An id or a run of ids as `cite` writes them: `e7`, `e3–e6`."""


def cited_indices(fact: str) -> set[int]:
    """The event indices a fact cites, runs expanded (ids hidden by `(+N more)` are not known)."""
    cited: set[int] = set()
    for start, end in _CITED_RUN.findall(fact):
        cited.update(range(int(start), int(end or start) + 1))
    return cited


def by_surprise(facts: list[str], surprising: list[int]) -> list[str]:
    """Facts citing the detector's most surprising event first, then those citing the next, …;
    facts citing none of them keep their order, last."""
    rank = {index: position for position, index in enumerate(surprising)}

    def first_surprise(fact: str) -> int:
        return min((rank[i] for i in cited_indices(fact) if i in rank), default=len(rank))

    return sorted(facts, key=first_surprise)


def positions(events: list[Event], test: Callable[[Event], bool]) -> list[int]:
    """Positions of the events passing `test`."""
    return [index for index, event in enumerate(events) if test(event)]


def _pace(events: list[Event], indices: list[int]) -> str:
    """Median gap and the most of these events in any one minute."""
    times = [events[i].ts for i in indices]
    peak, start = 0, 0
    for end, ts in enumerate(times):
        while ts - times[start] > 60.0:
            start += 1
        peak = max(peak, end - start + 1)
    gap = statistics.median(later - earlier for earlier, later in pairwise(times))
    return f"median gap {format_duration(gap)}, peak {peak} in a minute"


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def payment_facts(events: list[Event]) -> list[str]:
    attempts = positions(events, lambda e: e.action == "payment_attempt")
    if not attempts:
        return []
    declined = [i for i in attempts if events[i].status == "declined"]
    instruments = {events[i].payment_method for i in attempts if events[i].payment_method}
    line = f"payment attempts: {len(attempts)} ({cite(attempts)}), {len(declined)} declined"
    if declined:
        line += f" ({cite(declined)})"
    line += f", {len(instruments)} instruments"
    if len(attempts) >= MIN_PACE_EVENTS:
        line += f", {_pace(events, attempts)}"
    return [line]


def login_facts(events: list[Event]) -> list[str]:
    facts = []
    failed = positions(events, lambda e: e.action == "login" and e.status == "failed")
    if failed:
        facts.append(f"failed logins: {len(failed)} ({cite(failed)})")
    first_seen = first_sightings(events, "device_id")
    new_device_login = next(
        (
            index
            for index, event in enumerate(events)
            if event.action == "login"
            and event.status != "failed"
            and event.device_id is not None
            and first_seen[event.device_id] > 0
        ),
        None,
    )
    if new_device_login is not None:
        changes = [
            i
            for i in range(new_device_login, len(events))
            if events[i].action in CREDENTIAL_ACTIONS | ADDRESS_ACTIONS
        ]
        line = f"successful login on a new device ({event_id(new_device_login)})"
        if changes:
            kinds = ", ".join(sorted({events[i].action for i in changes}))
            line += f", then {kinds} ({cite(changes)})"
        facts.append(line)
    elif changes := positions(events, lambda e: e.action in CREDENTIAL_ACTIONS | ADDRESS_ACTIONS):
        kinds = ", ".join(sorted({events[i].action for i in changes}))
        facts.append(f"credential or address changes: {kinds} ({cite(changes)})")
    return facts


def at_quantity_limit(event: Event) -> bool:
    """Bought at the item's `max_per_order` (attrs are data from outside: checked, not trusted)."""
    limit, quantity = event.attrs.get("max_per_order"), event.quantity
    if quantity is None or not isinstance(limit, int | float | str):
        return False
    try:
        return quantity >= float(limit)
    except ValueError:
        return False


def _above_price(refund: Event, paid: float | None) -> bool:
    return refund.amount is not None and paid is not None and refund.amount > paid + 0.005


def purchase_facts(events: list[Event]) -> list[str]:
    purchases = positions(events, lambda e: e.action == "purchase")
    if not purchases:
        return []
    facts = []
    items = Counter(events[i].item_id for i in purchases if events[i].item_id)
    viewed = {e.item_id for e in events if e.action == "view" and e.item_id}
    repeated = [(item, n) for item, n in items.most_common(1) if n >= 3]
    if repeated:
        item, count = repeated[0]
        ids = [i for i in purchases if events[i].item_id == item]
        seen = "viewed before" if item in viewed else "never viewed"
        facts.append(f"same item bought {count}× ({cite(ids)}), {seen}")
    maxed = [i for i in purchases if at_quantity_limit(events[i])]
    if maxed:
        releases = sum(events[i].attrs.get("release") is not None for i in maxed)
        facts.append(
            f"maximum-quantity purchases: {len(maxed)} ({cite(maxed)}), "
            f"{releases} of limited-release items"
        )
    cash_out = [
        i
        for i in purchases
        if any(word in (events[i].category or "").lower() for word in CASH_OUT_WORDS)
    ]
    if cash_out:
        facts.append(f"easily resold items bought: {len(cash_out)} ({cite(cash_out)})")
    return facts


def refunded_orders(events: list[Event]) -> list[list[int]]:
    """The refund events grouped by the order they refund: a refund request and the return of
    the same item are one refund (an event naming no item is an order of its own)."""
    orders: dict[str | int, list[int]] = {}
    for index in positions(events, lambda e: e.action in REFUND_ACTIONS):
        orders.setdefault(events[index].item_id or index, []).append(index)
    return list(orders.values())


def refunded_amount(events: list[Event], orders: list[list[int]]) -> float:
    """The value of the refunded `orders` (from `refunded_orders`): each order counts once, at
    the largest amount any of its events names."""
    return sum(max(events[i].amount or 0.0 for i in order) for order in orders)


def refund_facts(events: list[Event], by_order: bool = False) -> list[str]:
    """Refund requests and returns against purchases; `by_order`: the amount refunded counts
    each refunded order once, and the line says how many orders were refunded."""
    refunds = positions(events, lambda e: e.action in REFUND_ACTIONS)
    if not refunds:
        return []
    purchases = positions(events, lambda e: e.action == "purchase")
    requests = [i for i in refunds if events[i].action == "refund_request"]
    returns = [i for i in refunds if events[i].action == "return"]
    bought = sum(events[i].amount or 0.0 for i in purchases)
    refunded = sum(events[i].amount or 0.0 for i in refunds)
    refunded_what = ""
    if by_order:
        orders = refunded_orders(events)
        refunded = refunded_amount(events, orders)
        refunded_what = f" of {len(orders)} order{'s' if len(orders) != 1 else ''}"
    price = {events[i].item_id: events[i].amount for i in purchases if events[i].item_id}
    above = [i for i in refunds if _above_price(events[i], price.get(events[i].item_id))]
    parts = [
        f"{len(ids)} {name} ({cite(ids)})"
        for name, ids in (("refund requests", requests), ("returns", returns))
        if ids
    ]
    line = (
        f"refunds: {', '.join(parts)}{refunded_what} after {len(purchases)} purchases; "
        f"refunded {money(refunded)} of {money(bought)} bought"
    )
    if above:
        line += f"; above the price paid: {cite(above)}"
    return [line]


def reviews_unbought(events: list[Event]) -> list[int]:
    """Positions of the reviews of an item the user had not bought before."""
    bought_before: set[str] = set()
    unbought = []
    for index, event in enumerate(events):
        if event.action == "purchase" and event.item_id:
            bought_before.add(event.item_id)
        elif event.action == "review" and event.item_id not in bought_before:
            unbought.append(index)
    return unbought


def near_copied_reviews(events: list[Event]) -> list[int]:
    """Positions of the review texts that are near copies of the review text before them."""
    texts = positions(events, lambda e: e.action == "review" and bool(e.text))
    return sorted(
        {
            j
            for i, j in pairwise(texts)
            if SequenceMatcher(None, events[i].text or "", events[j].text or "").ratio()
            >= NEAR_COPY_RATIO
        }
    )


def review_facts(events: list[Event]) -> list[str]:
    reviews = positions(events, lambda e: e.action == "review")
    if not reviews:
        return []
    unbought = reviews_unbought(events)
    ratings = Counter(events[i].rating for i in reviews if events[i].rating is not None)
    stars = ", ".join(f"{count}× {rating}★" for rating, count in sorted(ratings.items()))
    line = f"reviews: {len(reviews)} ({cite(reviews)}), {stars or 'no ratings'}"
    line += f"; without a purchase of that item before: {len(unbought)}"
    if unbought:
        line += f" ({cite(unbought)})"
    facts = [line]
    copies = near_copied_reviews(events)
    if copies:
        facts.append(f"near-copied review texts: {cite(copies)}, each close to the review before")
    return facts


def gap_variation(events: list[Event], indices: list[int]) -> float:
    """Standard deviation of the gaps between these events over their mean (capped)."""
    gaps = [events[j].ts - events[i].ts for i, j in pairwise(indices)]
    mean = statistics.fmean(gaps)
    return min(statistics.pstdev(gaps) / mean, 9.99) if mean > 0 else 0.0


def busiest_session(events: list[Event], indices: list[int]) -> list[int]:
    """The longest run of these events with no pause over SESSION_BREAK_S (the first of
    equals)."""
    runs = [[indices[0]]]
    for earlier, later in pairwise(indices):
        if events[later].ts - events[earlier].ts > SESSION_BREAK_S:
            runs.append([])
        runs[-1].append(later)
    return max(runs, key=len)


def browsing_rhythm(events: list[Event]) -> tuple[list[int], float] | None:
    """The busiest session of views and searches and its gap variation (1.0, random, for a
    single event); None with fewer than MIN_PACE_EVENTS views and searches in all."""
    views = positions(events, lambda e: e.action in ("view", "search"))
    if len(views) < MIN_PACE_EVENTS:
        return None
    session = busiest_session(events, views)
    return session, gap_variation(events, session) if len(session) >= 2 else 1.0


def browsing_facts(events: list[Event], by_session: bool = False) -> list[str]:
    """Views and searches: how many, their pace and rhythm, what else the user did. The gap
    variation is over all of them, or with `by_session` over the busiest session's only
    (a bot is regular within a session; days between visits say nothing of a rhythm)."""
    views = positions(events, lambda e: e.action in ("view", "search"))
    if len(views) < MIN_PACE_EVENTS:
        return []
    if by_session:
        session = busiest_session(events, views)
        span = format_duration(events[session[-1]].ts - events[session[0]].ts)
        rhythm = f"busiest session {len(session)} in {span}"
        if len(session) >= MIN_PACE_EVENTS:
            variation = gap_variation(events, session)
            rhythm += f", gap variation {variation:.2f} (0 = machine-regular, 1 = random)"
    else:
        rhythm = f"gap variation {gap_variation(events, views):.2f} (0 = machine-regular)"
    categories = {events[i].category for i in views if events[i].category}
    carts = sum(e.action == "add_to_cart" for e in events)
    buys = sum(e.action == "purchase" for e in events)
    return [
        f"views/searches: {len(views)} ({cite(views)}), {_pace(events, views)}, {rhythm}, "
        f"{len(categories)} categories, {carts} add_to_cart, {buys} purchases"
    ]


def ad_facts(events: list[Event]) -> list[str]:
    clicks = positions(events, lambda e: e.action == "ad_click")
    if not clicks:
        return []
    installs = positions(events, lambda e: e.action == "app_install")
    line = f"ad clicks: {len(clicks)} ({cite(clicks)}), {len(installs)} app installs"
    if len(clicks) >= MIN_PACE_EVENTS:
        line += f", {_pace(events, clicks)}"
    return [line]


def coupon_facts(events: list[Event]) -> list[str]:
    redeems = positions(events, lambda e: e.action == "coupon_redeem")
    if not redeems:
        return []
    codes = {str(events[i].attrs.get("coupon")) for i in redeems if "coupon" in events[i].attrs}
    failed = [i for i in redeems if events[i].status == "failed"]
    line = f"coupon redemptions: {len(redeems)} ({cite(redeems)}), {len(codes)} codes"
    if failed:
        reasons = sorted({str(events[i].attrs.get("reason", "?")) for i in failed})
        line += f", {len(failed)} refused ({cite(failed)}: {', '.join(reasons)})"
    return [line]


def country_before(events: list[Event], index: int) -> str | None:
    """The country the user was last seen in at or before `index`."""
    return next((e.country for e in reversed(events[: index + 1]) if e.country), None)


def home_country(events: list[Event], index: int) -> str | None:
    """The country most of the user's events up to `index` came from (of equals, the first
    seen): where the account lives. A traveller paying abroad with the card of home is where
    they always were; a stolen card's billing country is unlike the account's home."""
    seen = [event.country for event in events[: index + 1] if event.country]
    if not seen:
        return None
    counts = Counter(seen)
    most = max(counts.values())
    return next(country for country in seen if counts[country] == most)


def payment_risk_facts(events: list[Event], by_home: bool = False) -> list[str]:
    """The largest payment and what came just before it: signup, the instrument's first
    appearance, the billing country against the user's (stolen-card evidence, or its absence).
    The user's country is where they were at the payment, or with `by_home` their
    `home_country` (named so, with where they paid from, when the two differ)."""
    paid = positions(
        events,
        lambda e: (
            e.action in ("payment_attempt", "purchase")
            and e.amount is not None
            and e.status != "declined"
        ),
    )
    if not paid:
        return []
    top = max(paid, key=lambda i: (events[i].amount or 0.0, -i))
    event = events[top]
    amount = f"{money(event.amount or 0.0)} {event.currency or 'USD'}"
    line = f"largest payment: {amount} ({event_id(top)})"
    signup = next((i for i, e in enumerate(events) if e.action == "account_signup"), None)
    if signup is not None and signup < top:
        gap = format_duration(event.ts - events[signup].ts)
        line += f", {gap} after signup ({event_id(signup)})"
    instrument = event.payment_method
    if instrument is None and event.action == "purchase":
        before = [i for i in paid if i < top and events[i].action == "payment_attempt"]
        instrument = events[before[-1]].payment_method if before else None
    added = next(
        (
            i
            for i, e in enumerate(events)
            if e.action == "payment_method_add" and instrument and e.payment_method == instrument
        ),
        None,
    )
    if added is not None and added < top:
        gap = format_duration(event.ts - events[added].ts)
        line += f", {gap} after its instrument was added ({event_id(added)})"
    billing = next(
        (
            str(events[i].attrs[key])
            for i in range(top, -1, -1)
            for key in ("billing_country", "card_country")
            if key in events[i].attrs
            and (events[i].action != "payment_method_add" or events[i].payment_method == instrument)
            and i >= (added if added is not None else 0)
        ),
        None,
    )
    country = country_before(events, top)
    home = home_country(events, top) if by_home else country
    if billing is not None and home is not None:
        relation = "=" if billing == home else "≠"
        whose = "user country" if home == country else "the user's home country"
        line += f", billing country {billing} {relation} {whose} {home}"
        if home != country:
            line += f" (paid from {country})"
    return [line]


EVIDENCE_FACTS: tuple[Callable[[list[Event]], list[str]], ...] = (
    login_facts,
    payment_facts,
    purchase_facts,
    refund_facts,
    review_facts,
    browsing_facts,
    ad_facts,
    coupon_facts,
)


def describe_evidence(events: list[Event]) -> list[str]:
    """The facts that bear on each fraud type, only those this sequence has. Time-ordered events.

    What `verdict_v3` shows; kept as it was so its recorded runs render the same prompts."""
    return [fact for describe in EVIDENCE_FACTS for fact in describe(events)]


def describe_evidence_v2(
    events: list[Event], baseline: bool = False, refunds_by_order: bool = False
) -> list[str]:
    """`describe_evidence` plus the largest payment and its context (`payment_risk_facts`),
    placed after the purchase facts: what `verdict_v4` shows. With `baseline`, the payment
    and browsing facts are measured against the user's usual behaviour (`verdict_v10`); with
    `refunds_by_order`, refunds are counted by the order they refund (`verdict_v26`)."""
    facts = []
    for describe in EVIDENCE_FACTS:
        if baseline and describe is browsing_facts:
            facts += browsing_facts(events, by_session=True)
        elif describe is refund_facts:
            facts += refund_facts(events, by_order=refunds_by_order)
        else:
            facts += describe(events)
        if describe is purchase_facts:
            facts += payment_risk_facts(events, by_home=baseline)
    return facts
