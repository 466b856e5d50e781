"""Per-type evidence facts: computed by code, each citing the ids of the events it counts."""

from __future__ import annotations

from typing import Any

from agent_doubles import T0, card_testing_sequence, make_sequence

from agent.render.evidence_facts import cite, describe_evidence


def test_cite_joins_runs_and_counts_what_it_leaves_out() -> None:
    assert cite([3, 4, 5, 9]) == "e3–e5, e9"
    assert cite([0, 2, 4, 6, 8, 10]) == "e0, e2, e4, e6 (+2 more)"


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
