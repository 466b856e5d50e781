"""Fraud-pattern signals per sequence: each needs the whole pattern, not one odd feature."""

from __future__ import annotations

import numpy as np

from detectors.behaviour import BEHAVIOUR_SIGNALS, behaviour_signals
from detectors.events import Event
from detectors.sequences import Sequence


def _views(user: str, gaps: list[float]) -> Sequence:
    ts = np.concatenate([[0.0], np.cumsum(gaps)])
    return Sequence(
        user, [Event(user, float(t), "view", item_id=f"i{i}") for i, t in enumerate(ts)]
    )


def _signals(*sequences: Sequence) -> dict[str, list[float]]:
    values = behaviour_signals(list(sequences))
    assert values.shape == (len(sequences), len(BEHAVIOUR_SIGNALS))
    return {name: values[:, column].tolist() for column, name in enumerate(BEHAVIOUR_SIGNALS)}


def _pay(user: str, ts: float, card: str, status: str, amount: float = 5.0) -> Event:
    return Event(user, ts, "payment_attempt", amount=amount, status=status, payment_method=card)


def test_machine_browsing_needs_speed_and_rhythm() -> None:
    bot = _views("bot", [2.0] * 59)  # 60 distinct items, one every 2 s
    binge = _views("binge", [1.0, 9.0, 2.0, 14.0, 1.0, 30.0, 3.0] * 8)  # as fast, irregular
    person = _views("person", [5.0, 90.0, 12.0, 600.0, 30.0, 7.0, 240.0])
    short = _views("short", [1.0, 1.0])
    signals = _signals(bot, binge, person, short)["machine_browsing"]
    assert signals[0] == 6.0  # 60 items over the 10-minute floor, perfectly regular
    assert signals[1] < 0.6 * signals[0] and signals[2] < 1.0
    assert signals[3] == 0.0  # too few views to have a rhythm


def test_card_testing_needs_declines_across_instruments() -> None:
    testing = Sequence(
        "t", [_pay("t", 10.0 * i, f"card:****{i:04d}", "declined") for i in range(6)]
    )
    honest = Sequence(
        "h",
        [
            _pay("h", 0.0, "card:****1111", "declined"),
            _pay("h", 60.0, "card:****1111", "declined"),
            _pay("h", 120.0, "card:****2222", "approved"),
        ],
    )
    assert _signals(testing, honest)["card_testing_pattern"] == [6.0, 1.0]  # declined cards


def test_rushed_spend_on_a_new_instrument_and_refund_claims() -> None:
    user = "u"
    events = [
        Event(user, 0.0, "payment_method_add", payment_method="card:****9999"),
        _pay(user, 600.0, "card:****9999", "approved", amount=799.0),
        _pay(user, 900.0, "card:****9999", "declined", amount=300.0),
        _pay(user, 7200.0, "card:****9999", "approved", amount=50.0),  # after the rush
        Event(user, 8000.0, "refund_request", amount=799.0),
        Event(user, 9000.0, "refund_request", amount=50.0),
    ]
    signals = _signals(Sequence(user, events))
    assert signals["new_instrument_spend"] == [float(np.log1p(799.0))]
    assert signals["refund_claims"] == [2.0]


def test_changes_count_only_from_a_newly_seen_device() -> None:
    def event(ts: float, action: str, device: str) -> Event:
        return Event("u", ts, action, device_id=device)

    takeover = Sequence(
        "u",
        [
            event(0.0, "login", "d-home"),
            event(10.0, "password_reset", "d-home"),  # the history's own device: not counted
            event(86400.0 * 30, "login", "d-new"),
            event(86400.0 * 30 + 60, "email_change", "d-new"),
            event(86400.0 * 30 + 120, "address_change", "d-new"),
            event(86400.0 * 33, "phone_change", "d-new"),  # the device is days old by now
        ],
    )
    assert _signals(takeover)["new_device_changes"] == [2.0]


def test_reviews_count_when_nothing_was_bought_before() -> None:
    def event(ts: float, action: str, item: str) -> Event:
        return Event("u", ts, action, item_id=item)

    events = [
        event(0.0, "purchase", "i1"),
        event(10.0, "review", "i1"),  # bought first
        event(20.0, "review", "i2"),  # never bought
        event(30.0, "review", "i3"),  # bought only afterwards
        event(40.0, "purchase", "i3"),
    ]
    assert _signals(Sequence("u", events))["unbacked_reviews"] == [2.0]


def _session(user: str, start: float, looked: list[str], quantity: int) -> list[Event]:
    """Looks at `looked` a minute apart, then buys `quantity` of the last item looked at."""
    events = [Event(user, start + 60.0 * i, "view", item_id=item) for i, item in enumerate(looked)]
    bought = looked[-1] if looked else "i0"
    when = start + 60.0 * len(looked)
    return [*events, Event(user, when, "purchase", item_id=bought, quantity=quantity)]


def test_straight_bulk_buys_count_sessions_of_several_units_bought_without_browsing() -> None:
    day = 86400.0
    reseller = [
        *_session("r", 0.0, ["i1"], 4),
        *_session("r", day, [], 6),  # straight from a link
        *_session("r", 2 * day, ["i3"], 4),
        *_session("r", 3 * day, ["i4"], 1),  # one unit: not bulk
    ]
    shopper = [
        *_session("s", 0.0, ["i1", "i2", "i3"], 5),  # a bulk order after browsing
        *_session("s", day, ["i4"], 2),  # one straight bulk order
    ]
    same_session = [*_session("x", 0.0, ["i1"], 3), *_session("x", 600.0, ["i2"], 3)]
    signals = _signals(Sequence("r", reseller), Sequence("s", shopper), Sequence("x", same_session))
    assert signals["straight_bulk_buys"] == [3.0, 1.0, 0.0]  # x: two items in one session


def _review(user: str, ts: float, item: str, rating: int) -> Event:
    return Event(user, ts, "review", item_id=item, rating=rating)


def test_praised_glance_buys_count_top_reviews_of_items_bought_at_a_glance_per_view() -> None:
    day = 86400.0
    brusher = [
        *_session("b", 0.0, ["i1"], 1),  # a glance, an order
        _review("b", day, "i1", 5),
        *_session("b", 3 * day, [], 1),  # straight from a link: i0
        _review("b", 4 * day, "i0", 5),
        _review("b", 4 * day + 60.0, "i0", 5),  # every top review of the item counts
        *_session("b", 5 * day, ["i0"], 1),  # a look after the first order changes nothing
    ]
    reviewer = [
        *_session("r", 0.0, ["i1", "i2"], 1),  # browsed two items, bought i2
        _review("r", day, "i2", 5),
        Event("r", 2 * day, "add_to_cart", item_id="i3"),  # carted one day, bought the next
        *_session("r", 3 * day, [], 1),
        Event("r", 3 * day + 1.0, "purchase", item_id="i3"),
        _review("r", 4 * day, "i3", 5),
        *_session("r", 5 * day, ["i4"], 1),
        _review("r", 6 * day, "i4", 4),  # not the top rating
        _review("r", 6 * day, "i5", 5),  # reviewed before it was bought
        *_session("r", 7 * day, ["i5"], 1),
    ]
    browser = [*_views("w", [30.0] * 19).events, *_session("w", day, ["new"], 1)]
    browser.append(_review("w", 2 * day, "new", 5))
    signals = _signals(Sequence("b", brusher), Sequence("r", reviewer), Sequence("w", browser))
    # per max(views, 5): b viewed 2 items, r 4, w 21
    assert signals["praised_glance_buys"] == [3 / 5, 0.0, 1 / 21]


def test_a_batch_gives_each_sequence_its_own_signals() -> None:
    """Signals are computed over a whole batch at once: no sequence may leak into the next."""
    declines = [_pay("a", float(i), f"card:{i}", "declined") for i in range(3)]
    batch = [
        Sequence("a", declines),
        Sequence("empty", []),
        Sequence("b", [_pay("b", 0.0, "card:9", "declined"), *_views("b", [2.0] * 9).events]),
    ]
    together = behaviour_signals(batch)
    alone = np.concatenate([behaviour_signals([sequence]) for sequence in batch])
    assert np.array_equal(together, alone)
    assert together[:, BEHAVIOUR_SIGNALS.index("card_testing_pattern")].tolist() == [3, 0, 1]
    assert not together[1].any()


def test_an_instrument_added_in_the_same_second_after_the_payment_counts() -> None:
    events = [
        _pay("u", 100.0, "card:1", "approved", amount=40.0),
        Event("u", 100.0, "payment_method_add", payment_method="card:1"),
        _pay("u", 50.0, "card:1", "approved", amount=7.0),  # before any instrument
    ]
    assert _signals(Sequence("u", events))["new_instrument_spend"] == [float(np.log1p(40.0))]


def test_unset_and_empty_cards_are_one_card_and_unset_items_back_unset_reviews() -> None:
    cards = [_pay("u", 0.0, "", "declined"), Event("u", 1.0, "payment_attempt", status="declined")]
    reviews = [Event("u", 2.0, "purchase"), Event("u", 3.0, "review")]
    signals = _signals(Sequence("u", cards + reviews))
    assert signals["card_testing_pattern"] == [1.0]
    assert signals["unbacked_reviews"] == [0.0]
