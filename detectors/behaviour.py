"""Fraud-pattern signals a per-event token misses, one value per sequence each.

Each is a conjunction taken from the taxonomy (FORMATS.md §3) rather than one unusual feature:
honest-but-unusual users (a holiday bulk order, a declined card, a binge of browsing) are
unusual in one respect, the fraud patterns in several at once. None grows with the length of
a history: counts are taken within a window or are of events honest users rarely make.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import numpy as np

from detectors.events import Event
from detectors.sequences import Sequence

BEHAVIOUR_SIGNALS = (
    "machine_browsing",
    "card_testing_pattern",
    "refund_claims",
    "new_instrument_spend",
    "new_device_changes",
    "unbacked_reviews",
)
"""Each higher = more like a fraud pattern:

- machine_browsing: distinct items viewed per minute × regularity of the gaps between views
  (scraping: fast *and* regular);
- card_testing_pattern: distinct instruments declined within the worst PAYMENT_WINDOW events
  (many declines across many cards; one card declined, then another that works, is 1);
- refund_claims: refund requests (refund abuse: repeated claims);
- new_instrument_spend: log of the money paid within RUSHED_SECONDS of adding an instrument
  (payment fraud: new instrument, rushed checkout, high value);
- new_device_changes: credential, address or instrument changes made from a device within a
  day of its first appearance, the history's first device excepted (account takeover);
- unbacked_reviews: reviews of an item the user never put in a cart, checked out or bought
  before (fake reviews: no purchase behind them)."""
MIN_VIEWS_FOR_RHYTHM = 6
"""Fewer views than this say nothing about a rhythm: machine_browsing 0."""
VIEW_RATE_FLOOR_MINUTES = 10.0
"""Distinct items are divided by at least this many minutes, so a short visit is not a burst."""
PAYMENT_WINDOW = 32
"""Events per window for card_testing_pattern (a burst, however long the history)."""
RUSHED_SECONDS = 3600.0
NEW_DEVICE_SECONDS = 86400.0
CHANGE_ACTIONS = frozenset(
    {
        "password_reset",
        "email_change",
        "phone_change",
        "two_factor_change",
        "address_change",
        "payment_method_add",
    }
)

BACKING_ACTIONS = frozenset({"add_to_cart", "checkout", "purchase"})


def behaviour_signals(sequences: SequenceOf[Sequence]) -> np.ndarray:
    """(B, len(BEHAVIOUR_SIGNALS)) signals, in BEHAVIOUR_SIGNALS order."""
    return np.asarray([_signals_of(sequence) for sequence in sequences], dtype=np.float64).reshape(
        len(sequences), len(BEHAVIOUR_SIGNALS)
    )


def _signals_of(sequence: Sequence) -> list[float]:
    events = sequence.events
    actions = {event.action for event in events}
    return [
        _machine_browsing(events),
        _card_testing_pattern(events) if "payment_attempt" in actions else 0.0,
        float(sum(event.action == "refund_request" for event in events)),
        _new_instrument_spend(events) if "payment_method_add" in actions else 0.0,
        _new_device_changes(events) if actions & CHANGE_ACTIONS else 0.0,
        _unbacked_reviews(events) if "review" in actions else 0.0,
    ]


def _machine_browsing(events: list[Event]) -> float:
    views = [event for event in events if event.action == "view"]
    if len(views) < MIN_VIEWS_FOR_RHYTHM:
        return 0.0
    ts = np.asarray([event.ts for event in views], dtype=np.float64)
    gaps = np.diff(ts)
    mean = float(gaps.mean())
    regularity = 1.0 / (1.0 + float(gaps.std()) / mean) if mean > 0 else 1.0
    minutes = max(float(ts[-1] - ts[0]) / 60.0, VIEW_RATE_FLOOR_MINUTES)
    items = {event.item_id for event in views if event.item_id is not None}
    return len(items) / minutes * regularity


def _card_testing_pattern(events: list[Event]) -> float:
    declined = [
        (position, event.payment_method or "")
        for position, event in enumerate(events)
        if event.action == "payment_attempt" and event.status == "declined"
    ]
    best = 0
    for start, (first, _) in enumerate(declined):
        window = {card for position, card in declined[start:] if position < first + PAYMENT_WINDOW}
        best = max(best, len(window))
    return float(best)


def _new_instrument_spend(events: list[Event]) -> float:
    added = np.asarray([e.ts for e in events if e.action == "payment_method_add"])
    spend = sum(
        abs(event.amount)
        for event in events
        if event.action == "payment_attempt"
        and event.status != "declined"
        and event.amount is not None
        and bool(((event.ts >= added) & (event.ts - added <= RUSHED_SECONDS)).any())
    )
    return float(np.log1p(spend))


def _new_device_changes(events: list[Event]) -> float:
    first_seen: dict[str, float] = {}
    first_device = None
    changes = 0
    for event in events:
        if event.device_id is None:
            continue
        if first_device is None:
            first_device = event.device_id
        since = event.ts - first_seen.setdefault(event.device_id, event.ts)
        changes += (
            event.action in CHANGE_ACTIONS
            and event.device_id != first_device
            and since <= NEW_DEVICE_SECONDS
        )
    return float(changes)


def _unbacked_reviews(events: list[Event]) -> float:
    backed: set[str | None] = set()
    unbacked = 0
    for event in events:
        if event.action in BACKING_ACTIONS:
            backed.add(event.item_id)
        elif event.action == "review":
            unbacked += event.item_id not in backed
    return float(unbacked)
