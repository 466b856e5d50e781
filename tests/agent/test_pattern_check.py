"""An answer naming a type that the case's own events rule out is sent back with the reason;
no labelled fraud case of either simulator is ruled out under its own type."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import jsonschema
import pytest
from agent_doubles import T0, FixedScreener, ScriptedChatModel, answer_json, make_sequence

from agent.investigator import Investigator
from agent.pattern_check import RULED_OUT_BY, ruled_out
from agent.prompting import VerdictPrompt
from agent.render.evidence_facts import refund_facts
from agent.settings import Settings
from detectors.cases import FRAUD_TYPES
from detectors.loading import read_cases

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def _browsing_buyer() -> list[dict[str, object]]:
    """An honest binge browser: 40 fast views, then two purchases reviewed 3★ and 4★."""
    records: list[dict[str, object]] = [
        {"ts": T0 + 3 * i, "action": "view", "item_id": f"i{i}"} for i in range(40)
    ]
    for offset, (item, rating) in enumerate((("i3", 3), ("i7", 4))):
        records.append({"ts": T0 + 200 + offset, "action": "purchase", "item_id": item})
        records.append({"ts": T0 + 300 + offset, "action": "review", "item_id": item,
                        "rating": rating})  # fmt: skip
    return records


def test_plain_contradictions_rule_a_type_out_with_the_events_that_show_them() -> None:
    events = make_sequence(_browsing_buyer()).events
    assert ruled_out("scraping_bot", events) == ["the user bought 2 times (e40–e41)"]
    assert ruled_out("order_brushing", events) == ["none of its 2 rated reviews is 5★ (e42–e43)"]
    assert ruled_out("card_testing", events) == ["the case has no declined payment attempts"]
    assert ruled_out("refund_abuse", events) == ["the case has no refunds or returns"]
    assert ruled_out("fake_review", events) == []  # reviews are there: not ruled out
    assert ruled_out("none", events) == []


def test_a_pattern_that_needs_many_events_is_ruled_out_by_a_few() -> None:
    records = [
        {"ts": T0, "action": "login", "status": "success"},
        *({"ts": T0 + 5 * i, "action": "view", "item_id": f"i{i}"} for i in range(1, 4)),
        {"ts": T0 + 30, "action": "payment_attempt", "amount": 9.0, "status": "declined"},
    ]
    events = make_sequence(records).events
    assert ruled_out("scraping_bot", events) == [
        "views or searches: only 3 (the pattern needs 10 or more)"
    ]
    assert ruled_out("card_testing", events) == [
        "declined payment attempts: only 1 (the pattern needs 2 or more)"
    ]
    assert ruled_out("click_fraud", events) == ["the case has no ad clicks"]


def test_payment_fraud_needs_a_new_account_a_new_instrument_or_a_foreign_card() -> None:
    paid = [
        {"ts": T0, "action": "login", "status": "success", "country": "CN"},
        {"ts": T0 + 60, "action": "payment_attempt", "amount": 130.0, "status": "approved",
         "payment_method": "card:1", "billing_country": "CN"},
    ]  # fmt: skip
    refuted = ["no signup, no payment method added, and no billing country unlike the user's"]
    assert ruled_out("payment_fraud", make_sequence(paid).events) == refuted
    abroad = [paid[0], {**paid[1], "billing_country": "BR"}]
    added = [paid[0], {"ts": T0 + 30, "action": "payment_method_add", "payment_method": "card:1"}]
    for records in (abroad, [*added, paid[1]]):
        assert ruled_out("payment_fraud", make_sequence(records).events) == []


def _traveller(billing: str) -> list[dict[str, object]]:
    """Three logins at home in CN, then one in JP and a payment billed in `billing`."""
    records: list[dict[str, object]] = [
        {"ts": T0 + 86_400 * i, "action": "login", "status": "success", "country": "CN"}
        for i in range(3)
    ]
    return [
        *records,
        {"ts": T0 + 4 * 86_400, "action": "login", "status": "success", "country": "JP"},
        {"ts": T0 + 4 * 86_400 + 60, "action": "payment_attempt", "amount": 80.0,
         "status": "approved", "payment_method": "card:1", "billing_country": billing},
    ]  # fmt: skip


def test_a_traveller_paying_with_the_card_of_home_is_not_payment_fraud_by_home_country() -> None:
    home_card = make_sequence(_traveller("CN")).events
    assert ruled_out("payment_fraud", home_card) == []  # CN ≠ JP, where the user was
    assert ruled_out("payment_fraud", home_card, by_home=True) == [
        "no signup, no payment method added, and no billing country unlike the user's"
    ]
    foreign_card = make_sequence(_traveller("BR")).events
    assert ruled_out("payment_fraud", foreign_card, by_home=True) == []


def test_one_refund_is_not_refund_abuse() -> None:
    records = [
        {"ts": T0 + i, "action": "purchase", "item_id": f"i{i}", "amount": 10.0} for i in range(5)
    ]
    one = [*records, {"ts": T0 + 50, "action": "refund_request", "item_id": "i1", "amount": 10.0}]
    two = [*one, {"ts": T0 + 60, "action": "refund_request", "item_id": "i2", "amount": 10.0}]
    assert ruled_out("refund_abuse", make_sequence(one).events) == [
        "refunds or returns: only 1 (the pattern needs 2 or more)"
    ]
    assert ruled_out("refund_abuse", make_sequence(two).events) == []


def test_a_partial_pattern_is_not_ruled_out() -> None:
    """Brushing without any review, a bot that only views: thin, but not contradicted."""
    views = [{"ts": T0 + i, "action": "view", "item_id": f"i{i}"} for i in range(30)]
    buys = [{"ts": T0 + 100 + i, "action": "purchase", "item_id": "i1"} for i in range(3)]
    assert ruled_out("scraping_bot", make_sequence(views).events) == []
    assert ruled_out("order_brushing", make_sequence(views + buys).events) == []


def test_with_check_browsing_orders_that_all_followed_browsing_are_not_brushing() -> None:
    views = [{"ts": T0 + i, "action": "view", "item_id": f"i{i}"} for i in range(30)]
    buys = [{"ts": T0 + 100 + i, "action": "purchase", "item_id": "i1"} for i in range(3)]
    browsed = make_sequence(views + buys).events
    assert ruled_out("order_brushing", browsed, extra=["browsing"]) == [
        "each of its 3 purchases (e30–e32) followed views of other items in the same session "
        "(e29): no order was placed without browsing"
    ]
    # A search is no browsing, a view of the item bought neither, and a new session starts
    # after a 30-minute pause: each leaves an order placed without browsing.
    search = [{"ts": T0, "action": "search", "category": "c"},
              {"ts": T0 + 5, "action": "view", "item_id": "i1"},
              {"ts": T0 + 9, "action": "purchase", "item_id": "i1"}]  # fmt: skip
    later = [*views, {"ts": T0 + 30 + 1801, "action": "purchase", "item_id": "i1"}]
    for records in (search, later):
        assert ruled_out("order_brushing", make_sequence(records).events, extra=["browsing"]) == []


def _views(gaps: list[float]) -> list[dict[str, object]]:
    """Views of distinct items after these gaps (seconds), in one session."""
    times = [T0 + sum(gaps[:i]) for i in range(len(gaps) + 1)]
    return [{"ts": ts, "action": "view", "item_id": f"i{i}"} for i, ts in enumerate(times)]


def test_with_check_rhythm_a_persons_irregular_pace_is_no_scraping_bot() -> None:
    rng = random.Random(3)
    person = make_sequence(_views([round(max(1.0, rng.expovariate(1 / 5))) for _ in range(40)]))
    (reason,) = ruled_out("scraping_bot", person.events, extra=["rhythm"])
    assert reason.startswith("its busiest session's 41 views (e0–e40) come at a person's")
    assert ruled_out("scraping_bot", person.events) == []  # only with the rhythm rule
    # A bot's steady pace, a slow one's too, stays open; so does a sub-second bot, whose
    # gaps whole seconds make 0 s and 1 s apart, irregular in appearance only.
    steady = _views([round(5 * rng.uniform(0.9, 1.1)) for _ in range(40)])
    slow = _views([round(60 * rng.uniform(0.7, 1.3)) for _ in range(40)])
    sub_second = _views([float(rng.random() < 0.5) for _ in range(40)])
    for records in (steady, slow, sub_second):
        assert ruled_out("scraping_bot", make_sequence(records).events, extra=["rhythm"]) == []


def test_the_rhythm_rule_clears_most_honest_binge_browsers_of_scraping() -> None:
    """Not idle: sim_v2's binge browsers (a person flicking through 40–100 items, no purchase
    needed) are mostly ruled out as bots where nothing else rules them out."""
    cases, _ = read_cases(DATASETS / "sim_v2_train.jsonl.gz")
    binge = [c for c in cases if "binge_browser" in c.extra.get("tags", [])]
    open_before = [c for c in binge if not ruled_out("scraping_bot", c.events)]
    cleared = [c for c in open_before if ruled_out("scraping_bot", c.events, extra=["rhythm"])]
    assert len(open_before) >= 10 and len(cleared) >= 0.8 * len(open_before)


def _reviews(ratings: list[int], items: list[str]) -> list[dict[str, object]]:
    """Each item bought, then reviewed a day later (ids: purchase e2i, review e2i+1)."""
    records: list[dict[str, object]] = []
    for day, (rating, item) in enumerate(zip(ratings, items, strict=True)):
        records.append({"ts": T0 + 86400 * day, "action": "purchase", "item_id": item})
        records.append({"ts": T0 + 86400 * (day + 1), "action": "review", "item_id": item,
                        "rating": rating})  # fmt: skip
    return records


def test_with_check_reviews_a_customers_varied_ratings_are_no_brushing() -> None:
    customer = make_sequence(_reviews([5, 3, 4], ["i1", "i2", "i3"])).events
    (reason,) = ruled_out("order_brushing", customer, extra=["reviews"])
    assert reason.startswith(
        "its 3 rated reviews (e1, e3, e5) rate 3 different items from 3★ to 5★"
    )
    assert ruled_out("order_brushing", customer) == []  # only with the review rule
    # All 5★, or several reviews of one item, or only two items: a booster's pattern stays open.
    for ratings, items in (([5, 5, 5], ["i1", "i2", "i3"]), ([5, 3, 4], ["i1", "i1", "i2"])):
        booster = make_sequence(_reviews(ratings, items)).events
        assert ruled_out("order_brushing", booster, extra=["reviews"]) == []


def test_with_check_glance_brushing_needs_an_order_at_a_glance_then_praised_or_repeated() -> None:
    day = 86400
    praised = _reviews([5], ["i1"])  # bought straight away, 5★ a day later
    repeated = [{"ts": T0 + day * d, "action": "purchase", "item_id": "i1"} for d in (0, 2)]
    for records in (praised, repeated):
        assert ruled_out("order_brushing", make_sequence(records).events, extra=["glance"]) == []
    unpraised = make_sequence([*praised[:1], {**praised[1], "rating": None}]).events
    assert ruled_out("order_brushing", unpraised) == []  # only with the glance rule
    assert ruled_out("order_brushing", unpraised, extra=["glance"]) == [
        "no order placed at a glance (e0) was rated 5★ afterwards or placed again"
    ]
    considered = [
        {"ts": T0, "action": "add_to_cart", "item_id": "i1"},  # carted one day,
        {"ts": T0 + day, "action": "purchase", "item_id": "i1"},  # bought the next
        {"ts": T0 + 2 * day, "action": "review", "item_id": "i1", "rating": 5},
    ]
    browsed = [{"ts": T0 - 60 + i, "action": "view", "item_id": f"i{i + 2}"} for i in range(2)]
    browsed += praised  # two other items looked at first: shopping, not a glance
    for records in (considered, browsed):
        (reason,) = ruled_out("order_brushing", make_sequence(records).events, extra=["glance"])
        assert reason.startswith("no order was placed at a glance")


@pytest.mark.parametrize("name", ["sim_v1_train", "sim_v2_test", "sim_v3_holdout"])
def test_the_glance_rule_keeps_every_brushing_case_the_detector_flags(name: str) -> None:
    """The pattern check sees flagged cases only: it must keep every flagged brusher (those it
    rules out are ring accounts whose one order was never reviewed), and it clears at least
    half of the honest users the detector flags that bought something."""
    from detectors.detector import load_detector
    from detectors.sequences import Sequence

    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    flags = load_detector().predict([Sequence(c.case_id, c.events) for c in cases])
    flagged = [case for case, flag in zip(cases, flags, strict=True) if flag]
    brushing = [c for c in flagged if c.fraud_type == "order_brushing"]
    assert len(brushing) >= 13
    assert [
        c.case_id for c in brushing if ruled_out(c.fraud_type, c.events, extra=["glance"])
    ] == []
    buyers = [
        c for c in flagged if not c.is_fraud and any(e.action == "purchase" for e in c.events)
    ]
    cleared = [c for c in buyers if ruled_out("order_brushing", c.events, extra=["glance"])]
    assert len(cleared) >= len(buyers) // 2


def _refunded(items: list[str]) -> list[dict[str, object]]:
    """A purchase of each distinct item, then a refund request and a return per item listed."""
    bought = [
        {"ts": T0 + i, "action": "purchase", "item_id": item, "amount": 20.0}
        for i, item in enumerate(dict.fromkeys(items))
    ]
    refunds = [
        {"ts": T0 + 3600 * (i + 1) + k, "action": action, "item_id": item, "amount": 20.0}
        for i, item in enumerate(items)
        for k, action in enumerate(("refund_request", "return"))
    ]
    return [*bought, *refunds]


def test_with_refunds_by_order_a_request_and_its_return_are_one_refund() -> None:
    one_order = make_sequence(_refunded(["i1"])).events
    assert ruled_out("refund_abuse", one_order) == []  # two refund events pass the plain floor
    assert ruled_out("refund_abuse", one_order, extra=["orders"]) == [
        "refunds or returns of only 1 order (e1–e2; the pattern needs 2 or more)"
    ]
    two_orders = make_sequence(_refunded(["i1", "i2"])).events
    assert ruled_out("refund_abuse", two_orders, extra=["orders"]) == []
    # The fact counts the order once: v25 said 40.00 refunded of the 20.00 bought.
    assert refund_facts(one_order) == [
        "refunds: 1 refund requests (e1), 1 returns (e2) after 1 purchases; "
        "refunded 40.00 of 20.00 bought"
    ]
    assert refund_facts(one_order, by_order=True) == [
        "refunds: 1 refund requests (e1), 1 returns (e2) of 1 order after 1 purchases; "
        "refunded 20.00 of 20.00 bought"
    ]


@pytest.mark.parametrize("name", ["sim_v1_train", "sim_v2_test", "sim_v3_holdout2"])
def test_every_refund_abuser_refunds_two_orders_or_more(name: str) -> None:
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    abusers = [case for case in cases if case.fraud_type == "refund_abuse"]
    assert len(abusers) >= 16
    assert [c.case_id for c in abusers if ruled_out(c.fraud_type, c.events, extra=["orders"])] == []
    one_return = [c for c in cases if "one_return" in c.extra.get("tags", [])]
    refuted = [c for c in one_return if ruled_out("refund_abuse", c.events, extra=["orders"])]
    assert len(refuted) >= len(one_return) // 2


def test_with_check_reviews_a_buyers_own_reviews_are_no_fake_reviews() -> None:
    buyer = make_sequence(_reviews([5, 3], ["i1", "i2"])).events
    (reason,) = ruled_out("fake_review", buyer, extra=["reviews"])
    assert reason == (
        "each of its 2 reviews (e1, e3) rates an item it bought before, and no review text "
        "copies another: a buyer's reviews"
    )
    assert ruled_out("fake_review", buyer) == []  # only with the review rules
    unbought = [*_reviews([5], ["i1"]), {"ts": T0 + 9e5, "action": "review", "item_id": "i9"}]
    copied = _reviews([5, 5], ["i1", "i2"])
    for record in copied[1::2]:
        record["text"] = "Great product, fast shipping, highly recommend!"
    for records in (unbought, copied):
        assert ruled_out("fake_review", make_sequence(records).events, extra=["reviews"]) == []


@pytest.mark.parametrize("fraud_type", ["order_brushing", "fake_review"])
def test_the_review_rules_clear_most_honest_reviewers(fraud_type: str) -> None:
    """Not idle: sim_v2's honest reviewers (3–5 purchases, each reviewed) are mostly ruled out
    as brushing and as fake reviews where nothing else rules them out."""
    cases, _ = read_cases(DATASETS / "sim_v2_train.jsonl.gz")
    reviewers = [c for c in cases if "honest_reviewer" in c.extra.get("tags", [])]
    open_before = [c for c in reviewers if not ruled_out(fraud_type, c.events)]
    cleared = [c for c in open_before if ruled_out(fraud_type, c.events, extra=["reviews"])]
    assert len(open_before) >= 10 and len(cleared) >= 0.8 * len(open_before)


def _card_trouble(billing: str = "FR") -> list[dict[str, object]]:
    """A French customer: a declined payment, a card added two minutes later, then paid."""
    declined = {"ts": T0 + 60, "action": "payment_attempt", "status": "declined",
                "payment_method": "card:1111", "amount": 40.0, "country": "FR",
                "attrs": {"billing_country": "FR"}}  # fmt: skip
    return [
        {"ts": T0, "action": "login", "status": "success", "country": "FR"},
        declined,
        {"ts": T0 + 180, "action": "payment_method_add", "payment_method": "card:2222"},
        {**declined, "ts": T0 + 240, "status": "approved", "payment_method": "card:2222",
         "attrs": {"billing_country": billing}},
    ]  # fmt: skip


def test_with_check_cards_a_card_replacing_a_declined_one_is_no_payment_fraud() -> None:
    customer = make_sequence(_card_trouble()).events
    assert ruled_out("payment_fraud", customer, by_home=True) == []  # a card was added
    assert ruled_out("payment_fraud", customer, by_home=True, extra=["cards"]) == [
        "each payment method added (e2) replaced another declined minutes before (e1), and "
        "every payment bills in the user's home country: a customer's card trouble, not a "
        "stolen card"
    ]
    abroad = make_sequence(_card_trouble(billing="NG")).events
    signup = make_sequence([{"ts": T0 - 60, "action": "account_signup"}, *_card_trouble()])
    unprompted = make_sequence([r for r in _card_trouble() if r["ts"] != T0 + 60])
    for events in (abroad, signup.events, unprompted.events):
        assert ruled_out("payment_fraud", events, by_home=True, extra=["cards"]) == []


@pytest.mark.parametrize("name", ["sim_v1_train", "sim_v2_train"])
def test_the_card_rule_clears_every_declined_then_paid_customer(name: str) -> None:
    """Not idle: the simulators' card-trouble hard negatives that the plain rules leave open
    (a card was added) are all ruled out as payment fraud."""
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    tags = {"card_trouble", "declined_then_success"}
    customers = [c for c in cases if tags & set(c.extra.get("tags", []))]
    open_before = [c for c in customers if not ruled_out("payment_fraud", c.events, True)]
    assert len(open_before) >= 10
    assert all(ruled_out("payment_fraud", c.events, True, ["cards"]) for c in open_before)


def test_an_unknown_optional_rule_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"unknown optional rules \['tempo'\]"):
        ruled_out("scraping_bot", [], extra=["tempo"])


def test_every_fraud_type_has_its_rules() -> None:
    assert set(RULED_OUT_BY) == set(FRAUD_TYPES) - {"none"}


@pytest.mark.parametrize(
    ("by_home", "extra"),
    [
        (False, ()),
        (True, ()),
        (True, ("browsing",)),
        (True, ("browsing", "rhythm", "reviews", "cards")),
    ],
)
@pytest.mark.parametrize("name", ["sim_v1_test", "sim_v2_test", "sim_v2_dev"])
def test_no_labelled_fraud_case_is_ruled_out_under_its_own_type(
    name: str, by_home: bool, extra: tuple[str, ...]
) -> None:
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    fraud = [case for case in cases if case.is_fraud]
    assert len(fraud) >= 60
    refuted = [c.case_id for c in fraud if ruled_out(c.fraud_type, c.events, by_home, extra)]
    assert refuted == []


@pytest.mark.parametrize("name", ["sim_v1_train", "sim_v1_dev", "sim_v2_train"])
def test_every_brushing_case_of_the_training_splits_has_an_order_placed_without_browsing(
    name: str,
) -> None:
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    brushing = [case for case in cases if case.fraud_type == "order_brushing"]
    assert len(brushing) >= 17
    assert [
        c.case_id for c in brushing if ruled_out(c.fraud_type, c.events, extra=["browsing"])
    ] == []


def test_the_browsing_rule_clears_many_honest_buyers_of_brushing() -> None:
    """Not idle: on sim_v2_dev it rules brushing out for a third of the honest buyers."""
    cases, _ = read_cases(DATASETS / "sim_v2_dev.jsonl.gz")
    buyers = [c for c in cases if not c.is_fraud and any(e.action == "purchase" for e in c.events)]
    cleared = [c for c in buyers if ruled_out("order_brushing", c.events, extra=["browsing"])]
    assert len(cleared) >= len(buyers) // 3


def test_an_answer_its_case_rules_out_is_asked_again_and_the_reason_is_sent(
    tmp_path: Path,
) -> None:
    chat = ScriptedChatModel(
        [
            answer_json("scraping_bot", "block_account", ["e0", "e40"], 0.9,
                        "scraping_bot (block_account): 40 views in 2 minutes (e0–e39)"),
            answer_json("none", "monitor", ["e0", "e40"], 0.7,
                        "none (monitor): 40 fast views (e0–e39), then 2 purchases (e40, e41)"),
        ]
    )  # fmt: skip
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version="verdict_v8")
    # Flagged below the policy's high_score, where a benign answer may stand.
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(_browsing_buyer())))

    assert (verdict.fraud_type, verdict.action, verdict.llm_calls) == ("none", "monitor", 2)
    assert (
        "scraping_bot does not fit this case: the user bought 2 times (e40–e41)"
        in (chat.requests[1][-1]["content"])
    )


@pytest.mark.parametrize("version", ["verdict_v21", "verdict_v22", "verdict_v24"])
def test_the_retry_closes_the_type_sent_back_from_v22_and_every_ruled_out_type_from_v24(
    tmp_path: Path, version: str
) -> None:
    brushing = answer_json("order_brushing", "manual_review", ["e1", "e3"], 0.8,
                           "order_brushing (manual_review): reviews (e1, e3, e5)")  # fmt: skip
    fake = answer_json("fake_review", "manual_review", ["e1", "e3"], 0.8,
                       "fake_review (manual_review): three reviews (e1, e3, e5)")  # fmt: skip
    chat = ScriptedChatModel([brushing, fake])
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    # Each item bought before its review (no fake review), ratings 3★ to 5★ (no brushing).
    customer = make_sequence(_reviews([5, 3, 4], ["i1", "i2", "i3"]))
    verdict = asyncio.run(investigator.investigate("c1", customer))

    first, retry = chat.schemas
    assert first == VerdictPrompt.load("verdict_v21").answer_schema(customer.events)
    validates = jsonschema.Draft202012Validator(retry).is_valid
    assert validates(json.loads(brushing)) == (version == "verdict_v21")
    assert validates(json.loads(fake)) == (version != "verdict_v24")
    none = answer_json("none", "allow", ["e1"], 0.8, "none (allow): a customer's reviews (e1)")
    assert validates(json.loads(none))
    # The scripted server ignores the grammar: the fake_review answer is still sent back.
    assert verdict.is_fallback and verdict.refuted_type == "fake_review"


@pytest.mark.parametrize(("version", "calls"), [("verdict_v9", 1), ("verdict_v10", 2)])
def test_from_v10_a_traveller_called_payment_fraud_is_asked_again(
    tmp_path: Path, version: str, calls: int
) -> None:
    chat = ScriptedChatModel(
        [
            answer_json("payment_fraud", "block_account", ["e3", "e4"], 0.9,
                        "payment_fraud (block_account): login from JP (e3), then a payment "
                        "billed in CN (e4)"),
            answer_json("none", "monitor", ["e3", "e4"], 0.7,
                        "none (monitor): a login from JP (e3), paid with the card of home (e4)"),
        ]
    )  # fmt: skip
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(_traveller("CN"))))

    assert verdict.llm_calls == calls
    first_prompt = chat.requests[0][-1]["content"]
    facts = "billing country CN = the user's home country CN (paid from JP)"
    assert (facts in first_prompt) == (version == "verdict_v10")
    if calls == 2:
        assert (verdict.fraud_type, verdict.action) == ("none", "monitor")
        assert "payment_fraud does not fit this case" in chat.requests[1][-1]["content"]


def test_prompts_without_the_check_keep_the_answer(tmp_path: Path) -> None:
    chat = ScriptedChatModel(
        [answer_json("scraping_bot", "block_account", ["e0", "e40"], 0.9,
                     "scraping_bot (block_account): 40 views in 2 minutes (e0–e39)")]
    )  # fmt: skip
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version="verdict_v7")
    investigator = Investigator(settings, chat, FixedScreener(), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(_browsing_buyer())))
    assert (verdict.fraud_type, verdict.llm_calls) == ("scraping_bot", 1)
