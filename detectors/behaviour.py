"""Fraud-pattern signals a per-event token misses, one value per sequence each.

Each is a conjunction taken from the taxonomy (FORMATS.md §3) rather than one unusual feature:
honest-but-unusual users (a holiday bulk order, a declined card, a binge of browsing) are
unusual in one respect, the fraud patterns in several at once. None grows with the length of
a history: counts are taken within a window or are of events honest users rarely make.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import numpy as np

from detectors.sequences import Sequence
from detectors.tokenizer import Categories, EventColumns, consecutive_gaps

BEHAVIOUR_SIGNALS = (
    "machine_browsing",
    "card_testing_pattern",
    "refund_claims",
    "new_instrument_spend",
    "new_device_changes",
    "unbacked_reviews",
    "straight_bulk_buys",
    "praised_glance_buys",
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
  before (fake reviews: no purchase behind them);
- straight_bulk_buys: sessions in which the user bought several units of an item having
  looked at no other (reseller scalping: maximum-quantity purchases of limited items, at
  release or one drop after another; an honest bulk order is one, or browsed);
- praised_glance_buys: top-rated reviews of items bought at a glance (in a session that looked
  at one item at most, and looked at in no earlier session), per view in the history
  (order brushing: a glance, an order, five stars, little browsing around them; an honest
  buyer who reviews browsed first, or came back for an item considered before)."""
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
SESSION_GAP_SECONDS = 1800.0
"""A pause longer than this between two events of a user starts a new session."""
LOOKING_ACTIONS = ("view", "add_to_cart", "favorite")
TOP_RATING = 5
VIEW_FLOOR = 5
"""praised_glance_buys divides by at least this many views, so that one glance and one review
on a history of nothing else is not a share of 1."""


def behaviour_signals(sequences: SequenceOf[Sequence] | EventColumns) -> np.ndarray:
    """(B, len(BEHAVIOUR_SIGNALS)) signals, in BEHAVIOUR_SIGNALS order; `sequences` may be
    their EventColumns. A whole batch at once: every per-event step is a numpy operation."""
    columns = EventColumns.of(sequences)
    actions = columns.categories["action"]
    session, sessions = _sessions(columns)
    looked = _items_looked_at(columns, actions, session, sessions)
    signals = [
        _machine_browsing(columns, actions.isin(("view",))),
        _card_testing_pattern(columns, actions),
        columns.counts(actions.isin(("refund_request",))).astype(np.float64),
        _new_instrument_spend(columns, actions),
        _new_device_changes(columns, actions.isin(CHANGE_ACTIONS)),
        _unbacked_reviews(columns, actions),
        _straight_bulk_buys(columns, actions, session, looked),
        _praised_glance_buys(columns, actions, session, looked),
    ]
    return np.stack(signals, axis=1).reshape(columns.count, len(BEHAVIOUR_SIGNALS))


def _machine_browsing(columns: EventColumns, is_view: np.ndarray) -> np.ndarray:
    views = np.flatnonzero(is_view)
    view_seq, ts = columns.seq[views], columns.numbers["ts"][views]
    count = np.bincount(view_seq, minlength=columns.count)
    gaps, gap_seq = consecutive_gaps(view_seq, ts)
    intervals = np.maximum(count - 1, 1)
    mean = np.bincount(gap_seq, gaps, columns.count) / intervals
    deviation = gaps - mean[gap_seq]
    std = np.sqrt(np.bincount(gap_seq, deviation * deviation, columns.count) / intervals)
    positive = mean > 0
    regularity = np.ones(columns.count)
    regularity[positive] = 1.0 / (1.0 + std[positive] / mean[positive])
    first, last = np.full(columns.count, np.nan), np.full(columns.count, np.nan)
    first[view_seq[::-1]], last[view_seq] = ts[::-1], ts  # the last write of an index wins
    minutes = np.maximum((last - first) / 60.0, VIEW_RATE_FLOOR_MINUTES)
    items = columns.distinct_counts("item_id", is_view)
    rhythmic = count >= MIN_VIEWS_FOR_RHYTHM
    return np.where(rhythmic, items / np.where(rhythmic, minutes, 1.0) * regularity, 0.0)


def _card_testing_pattern(columns: EventColumns, actions: Categories) -> np.ndarray:
    """Distinct cards among the declines of each window that starts at a decline: every
    (window start, decline within PAYMENT_WINDOW events of it) pair, then distinct per start."""
    statuses = columns.categories["status"]
    declined = np.flatnonzero(actions.isin(("payment_attempt",)) & statuses.isin(("declined",)))
    best = np.zeros(columns.count)
    if declined.size == 0:
        return best
    cards = columns.categories["payment_method"]
    card = np.where(cards.lookup(bool, bool), cards.codes, -1)[declined]  # unset and "" alike
    seq = columns.seq[declined]
    window_end = np.minimum(declined + PAYMENT_WINDOW, columns.offsets[seq + 1])
    members = np.searchsorted(declined, window_end) - np.arange(declined.size)
    start = np.repeat(np.arange(declined.size), members)
    member = start + np.arange(start.size) - np.repeat(np.cumsum(members) - members, members)
    width = len(cards.values) + 1
    pairs = np.unique(start * width + card[member] + 1)
    distinct = np.bincount(pairs // width, minlength=declined.size)
    np.maximum.at(best, seq, distinct)
    return best


def _new_instrument_spend(columns: EventColumns, actions: Categories) -> np.ndarray:
    """log1p of the money of payments not declined made within RUSHED_SECONDS after (or at
    the time of) some instrument added in the same sequence, whatever the order of the rows."""
    ts, amount = columns.numbers["ts"], columns.numbers["amount"]
    added = np.flatnonzero(actions.isin(("payment_method_add",)))
    paid = np.flatnonzero(
        actions.isin(("payment_attempt",))
        & ~columns.categories["status"].isin(("declined",))
        & ~np.isnan(amount)
    )
    rows = np.concatenate([added, paid])
    is_paid = np.arange(rows.size) >= added.size
    # By sequence, then time, an addition before a payment at the same time: each payment's
    # latest addition up to its time is the last addition before it in this order.
    order = np.lexsort((is_paid, ts[rows], columns.seq[rows]))
    rows, is_paid = rows[order], is_paid[order]
    latest = np.maximum.accumulate(np.where(is_paid, -1, np.arange(rows.size)))
    payments = np.flatnonzero(is_paid & (latest >= 0))
    source = rows[latest[payments]]
    payment = rows[payments]
    rushed = (columns.seq[source] == columns.seq[payment]) & (
        ts[payment] - ts[source] <= RUSHED_SECONDS
    )
    # bincount adds in row order, from 0, like the sum over the events it replaces
    spend_rows = np.sort(payment[rushed])
    spend = np.bincount(columns.seq[spend_rows], np.abs(amount[spend_rows]), columns.count)
    return np.log1p(spend)


def _new_device_changes(columns: EventColumns, is_change: np.ndarray) -> np.ndarray:
    """Changes from a device other than the sequence's first, within NEW_DEVICE_SECONDS of
    that device's first row in the sequence."""
    devices = columns.categories["device_id"]
    rows = np.flatnonzero(devices.codes >= 0)
    seq, device = columns.seq[rows], devices.codes[rows]
    width = len(devices.values)
    _, first_row, pair = np.unique(seq * width + device, return_index=True, return_inverse=True)
    first_seen = columns.numbers["ts"][rows[first_row]][pair]
    first_device = np.full(columns.count, -1)
    _, first_of_sequence = np.unique(seq, return_index=True)
    first_device[seq[first_of_sequence]] = device[first_of_sequence]
    changes = (
        is_change[rows]
        & (device != first_device[seq])
        & (columns.numbers["ts"][rows] - first_seen <= NEW_DEVICE_SECONDS)
    )
    return np.bincount(seq[changes], minlength=columns.count).astype(np.float64)


def _unbacked_reviews(columns: EventColumns, actions: Categories) -> np.ndarray:
    """Reviews of an item (an unset item counts as one) with no earlier backing row of it."""
    items = columns.categories["item_id"]
    width = len(items.values) + 1
    key = columns.seq * width + items.codes + 1
    backing = np.flatnonzero(actions.isin(BACKING_ACTIONS))
    backed, first_backing = np.unique(key[backing], return_index=True)
    reviews = np.flatnonzero(actions.isin(("review",)))
    first_backing_row = _lookup(backed, backing[first_backing], key[reviews], np.inf)
    unbacked = reviews[first_backing_row >= reviews]
    return np.bincount(columns.seq[unbacked], minlength=columns.count).astype(np.float64)


def _sessions(columns: EventColumns) -> tuple[np.ndarray, int]:
    """Each row's session (a pause over SESSION_GAP_SECONDS starts one), and how many."""
    ts = columns.numbers["ts"]
    order = np.lexsort((ts, columns.seq))
    seq, ordered_ts = columns.seq[order], ts[order]
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = (seq[1:] != seq[:-1]) | (np.diff(ordered_ts) > SESSION_GAP_SECONDS)
    session = np.empty(order.size, dtype=np.int64)
    session[order] = np.cumsum(starts) - 1
    return session, int(starts.sum())


def _items_looked_at(
    columns: EventColumns, actions: Categories, session: np.ndarray, sessions: int
) -> np.ndarray:
    """(sessions,) distinct items viewed, carted or favourited in each session."""
    items = columns.categories["item_id"]
    looking = actions.isin(LOOKING_ACTIONS) & (items.codes >= 0)
    width = max(len(items.values), 1)
    pairs = np.unique(session[looking] * width + items.codes[looking])
    return np.bincount(pairs // width, minlength=sessions)


def _straight_bulk_buys(
    columns: EventColumns, actions: Categories, session: np.ndarray, looked: np.ndarray
) -> np.ndarray:
    """Sessions with a purchase of quantity ≥ 2 in which at most one item was looked at."""
    sessions = looked.size
    bulk = actions.isin(("purchase",)) & (np.nan_to_num(columns.numbers["quantity"]) >= 2)
    straight = (np.bincount(session[bulk], minlength=sessions) > 0) & (looked <= 1)
    session_seq = np.zeros(sessions, dtype=np.int64)
    session_seq[session] = columns.seq
    return np.bincount(session_seq[straight], minlength=columns.count).astype(np.float64)


def _praised_glance_buys(
    columns: EventColumns, actions: Categories, session: np.ndarray, looked: np.ndarray
) -> np.ndarray:
    """Reviews rated TOP_RATING of an item bought earlier at a glance, per max(views,
    VIEW_FLOOR)."""
    glance = _glance_purchases(columns, actions, session, looked)
    praised = _praised_reviews(columns, actions, glance)
    count = np.bincount(columns.seq[praised], minlength=columns.count)
    views = columns.counts(actions.isin(("view",)))
    return count / np.maximum(views, VIEW_FLOOR)


def _item_keys(columns: EventColumns) -> np.ndarray:
    """(N,) one number per (sequence, item) pair."""
    items = columns.categories["item_id"]
    return columns.seq * max(len(items.values), 1) + items.codes


def _glance_purchases(
    columns: EventColumns, actions: Categories, session: np.ndarray, looked: np.ndarray
) -> np.ndarray:
    """Rows of purchases made at a glance: in a session that looked at no more than one item,
    of an item no earlier session looked at (an honest buyer often carts first, buys later)."""
    ts, key = columns.numbers["ts"], _item_keys(columns)
    has_item = columns.categories["item_id"].codes >= 0
    looks = np.flatnonzero(actions.isin(LOOKING_ACTIONS) & has_item)
    looks = looks[np.lexsort((ts[looks], key[looks]))]
    looked_keys, first_look = np.unique(key[looks], return_index=True)
    buys = np.flatnonzero(actions.isin(("purchase",)) & has_item & (looked[session] <= 1))
    first_session = _lookup(looked_keys, session[looks[first_look]], key[buys], np.inf)
    return buys[first_session >= session[buys]]  # first looked at in this session, or later


def _praised_reviews(columns: EventColumns, actions: Categories, glance: np.ndarray) -> np.ndarray:
    """Rows of reviews rated TOP_RATING of an item with an earlier `glance` purchase."""
    ts, key = columns.numbers["ts"], _item_keys(columns)
    reviews = np.flatnonzero(
        actions.isin(("review",))
        & (columns.categories["item_id"].codes >= 0)
        & (columns.numbers["rating"] >= TOP_RATING)
    )
    glance = glance[np.lexsort((ts[glance], key[glance]))]
    bought, first_buy = np.unique(key[glance], return_index=True)
    bought_at = _lookup(bought, ts[glance[first_buy]], key[reviews], np.inf)
    return reviews[bought_at < ts[reviews]]


def glance_orders(sequence: Sequence) -> tuple[list[int], list[int]]:
    """Positions in one user's time-ordered `sequence` of the purchases made at a glance and
    of the reviews rated TOP_RATING of items so bought (see praised_glance_buys): the orders
    that look brushed, for the agent's pattern check."""
    columns = EventColumns.from_sequences([sequence])
    actions = columns.categories["action"]
    session, sessions = _sessions(columns)
    glance = _glance_purchases(
        columns, actions, session, _items_looked_at(columns, actions, session, sessions)
    )
    return sorted(glance.tolist()), sorted(_praised_reviews(columns, actions, glance).tolist())


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, missing: float) -> np.ndarray:
    """(Q,) values[i] where keys[i] == query (keys sorted and distinct), else `missing`."""
    if keys.size == 0:
        return np.full(query.size, missing)
    found = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return np.where(keys[found] == query, values[found], missing)
