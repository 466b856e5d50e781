"""Per-type evidence facts: computed by code, each citing the ids of the events it counts."""

from __future__ import annotations

from typing import Any

from agent_doubles import T0, card_testing_sequence, make_sequence

from agent.render.evidence_facts import (
    browsing_facts,
    busiest_session,
    by_surprise,
    cite,
    cited_indices,
    describe_evidence,
    describe_evidence_v2,
    payment_risk_facts,
)
from agent.render.facts import compact_brief_facts


def test_cite_joins_runs_and_counts_what_it_leaves_out() -> None:
    assert cite([3, 4, 5, 9]) == "e3–e5, e9"
    assert cite([0, 2, 4, 6, 8, 10]) == "e0, e2, e4, e6 (+2 more)"


def test_facts_citing_the_most_surprising_events_come_first_the_rest_keep_their_order() -> None:
    facts = ["payment attempts: 1 (e6)", "span: 8 events", "coupons: 2 (e1–e2)", "refunds (e9)"]
    assert cited_indices("coupons: 2 (e1–e3, e7), refused (e1)") == {1, 2, 3, 7}
    assert by_surprise(facts, [2, 9, 6]) == [
        "coupons: 2 (e1–e2)",  # e2, inside the run e1–e2, is the most surprising
        "refunds (e9)",
        "payment attempts: 1 (e6)",
        "span: 8 events",
    ]
    assert by_surprise(facts, []) == facts


def test_card_testing_declines_and_instruments_are_counted_with_ids() -> None:
    facts = describe_evidence(card_testing_sequence().events)
    assert facts[0].startswith("payment attempts: 6 (e1–e6), 6 declined (e1–e6), 6 instruments")


def test_a_new_device_login_then_credential_changes_is_one_fact() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "login", "status": "success", "device_id": "home"},
        {"ts": T0 + 60, "action": "login", "status": "failed", "device_id": "x"},
        {"ts": T0 + 90, "action": "login", "status": "success", "device_id": "x"},
        {"ts": T0 + 120, "action": "email_change"},
        {"ts": T0 + 150, "action": "address_change"},
    ]
    facts = describe_evidence(make_sequence(records).events)
    assert "failed logins: 1 (e1)" in facts
    assert (
        "successful login on a new device (e2), then address_change, email_change (e3–e4)" in facts
    )


def test_refunds_above_the_price_and_reviews_without_a_purchase_are_named() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "purchase", "item_id": "a", "amount": 10.0},
        {"ts": T0 + 60, "action": "refund_request", "item_id": "a", "amount": 25.0},
        {"ts": T0 + 120, "action": "review", "item_id": "b", "rating": 1},
        {"ts": T0 + 180, "action": "review", "item_id": "a", "rating": 5},
    ]
    facts = describe_evidence(make_sequence(records).events)
    assert (
        "refunds: 1 refund requests (e1) after 1 purchases; refunded 25.00 of 10.00 bought; "
        "above the price paid: e1"
    ) in facts
    assert any("without a purchase of that item before: 1 (e2)" in fact for fact in facts)


def test_an_ordinary_shopper_has_no_type_specific_evidence() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "view", "item_id": "a"},
        {"ts": T0 + 60, "action": "add_to_cart", "item_id": "a"},
    ]
    assert describe_evidence(make_sequence(records).events) == []


def test_the_largest_payment_is_placed_after_signup_and_its_new_instrument() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "account_signup", "country": "US"},
        {"ts": T0 + 60, "action": "payment_method_add", "payment_method": "card:****1111"},
        {
            "ts": T0 + 120,
            "action": "payment_attempt",
            "amount": 2400.0,
            "payment_method": "card:****1111",
            "status": "approved",
            "attrs": {"billing_country": "NG"},
        },
        {"ts": T0 + 130, "action": "purchase", "amount": 2400.0},
    ]
    events = make_sequence(records).events
    assert payment_risk_facts(events) == [
        "largest payment: 2,400.00 USD (e2), 2m00s after signup (e0), "
        "1m00s after its instrument was added (e1), billing country NG ≠ user country US"
    ]
    assert payment_risk_facts(events) == [
        fact for fact in describe_evidence_v2(events) if fact.startswith("largest payment")
    ]
    assert not any(fact.startswith("largest payment") for fact in describe_evidence(events))


def test_by_home_the_billing_country_is_set_against_where_the_user_lives() -> None:
    """A traveller: logins at home in CN, then in JP, paying with the card of home."""
    records: list[dict[str, Any]] = [
        {"ts": T0 + 86_400 * i, "action": "login", "status": "success", "country": "CN"}
        for i in range(3)
    ]
    records.append({"ts": T0 + 4 * 86_400, "action": "login", "status": "success", "country": "JP"})
    paid = {"ts": T0 + 4 * 86_400 + 60, "action": "payment_attempt", "amount": 80.0,
            "status": "approved", "attrs": {"billing_country": "CN"}}  # fmt: skip
    events = make_sequence([*records, paid]).events
    assert payment_risk_facts(events) == [
        "largest payment: 80.00 USD (e4), billing country CN ≠ user country JP"
    ]
    assert payment_risk_facts(events, by_home=True) == [
        "largest payment: 80.00 USD (e4), billing country CN = the user's home country CN "
        "(paid from JP)"
    ]
    assert describe_evidence_v2(events, baseline=True)[-1].endswith("(paid from JP)")
    at_home = make_sequence([*records[:3], {**paid, "ts": T0 + 3 * 86_400}]).events
    assert payment_risk_facts(at_home, by_home=True) == payment_risk_facts(at_home)


def _visits(gaps_s: list[float]) -> list[dict[str, Any]]:
    """Views `gaps_s` apart, as they come."""
    records, ts = [], T0
    for index, gap in enumerate(gaps_s):
        ts += gap
        records.append({"ts": ts, "action": "view", "item_id": f"i{index}", "category": "c"})
    return records


def test_by_session_the_rhythm_is_the_busiest_sessions_not_the_days_between_visits() -> None:
    """A bot's 6 views 10 s apart after a few visits days apart: irregular over the whole
    history, machine-regular in its session."""
    events = make_sequence(_visits([0, 86_400, 3 * 86_400, 86_400] + [10.0] * 6)).events
    views = list(range(len(events)))
    assert busiest_session(events, views) == views[3:]
    assert "gap variation 1.72 (0 = machine-regular)" in browsing_facts(events)[0]
    assert browsing_facts(events, by_session=True) == [
        "views/searches: 10 (e0–e9), median gap 10s, peak 7 in a minute, busiest session 7 in "
        "1m00s, gap variation 0.00 (0 = machine-regular, 1 = random), 1 categories, "
        "0 add_to_cart, 0 purchases"
    ]
    short = make_sequence(_visits([0, 86_400, 86_400, 86_400, 86_400, 5.0])).events
    assert "busiest session 2 in 5s, 1 categories" in browsing_facts(short, by_session=True)[0]


def test_declined_payments_are_not_the_largest_payment() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "payment_attempt", "amount": 900.0, "status": "declined"},
        {"ts": T0 + 60, "action": "payment_attempt", "amount": 9.0, "status": "approved"},
    ]
    assert payment_risk_facts(make_sequence(records).events) == ["largest payment: 9.00 USD (e1)"]


def test_compact_brief_facts_say_where_each_new_identity_appears() -> None:
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "login", "device_id": "d-home", "ip": "1.2.3.4", "country": "US"},
        {"ts": T0 + 60, "action": "login", "device_id": "d-new", "ip": "1.2.3.9", "country": "US"},
    ]
    facts = compact_brief_facts(make_sequence(records).events)
    assert facts[1] == "identities: 2 devices (new at e1); 1 ips; 1 countries (US)"
    assert len(facts) == 3 and facts[0].startswith("span: 2 events over 1m00s; account age:")
