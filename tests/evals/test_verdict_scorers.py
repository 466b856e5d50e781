"""Scorers of one verdict: faithfulness (cited kinds, stated numbers), grounding, the type guess."""

from __future__ import annotations

from typing import Any

import pytest
from eval_records import make_record

from agent.verdict import Verdict
from detectors.events import parse_event
from detectors.scores import EventSurprise, SequenceScore
from detectors.sequences import Sequence, order_events
from evals.faithfulness import (
    cites_needed_kinds,
    explanation_cites_needed_kinds,
    numbers_in,
    stated_numbers_match,
)
from evals.type_guess import perturb_guess, shown_guess
from evals.verdict_scorers import score_verdict

T0 = 1_772_442_000.0


def make_sequence(records: list[dict[str, Any]]) -> Sequence:
    return Sequence("u1", order_events([parse_event({"user_id": "u1", **r}) for r in records]))


def card_testing_sequence() -> Sequence:
    return make_sequence(
        [
            {"ts": T0 + 10 * i, "action": "payment_attempt", "amount": 1.0, "status": "declined"}
            | {"payment_method": f"card:41111111{i:08d}"}
            for i in range(6)
        ]
    )


def sequence_score(sequence: Sequence) -> SequenceScore:
    surprises = [EventSurprise(i, "t", 1.0, 1) for i in range(len(sequence))]
    return SequenceScore(sequence.user_id, 0.9, True, surprises)


def _verdict(fraud_type: str, evidence: list[str], explanation: str, **extra: Any) -> Verdict:
    fields: dict[str, Any] = {
        "case_id": "c1",
        "user_id": "u1",
        "detector_score": 0.9,
        "flagged": True,
        "fraud_type": fraud_type,
        "confidence": 0.8,
        "explanation": explanation,
        "evidence": evidence,
        "action": "manual_review",
        "proposed_action": "manual_review",
        "model": "m",
        "prompt_version": "verdict_v3",
        "detector_version": "d",
        **extra,
    }
    return Verdict.model_validate(fields)


def _brushing_case() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [{"ts": T0, "action": "login", "status": "success"}]
    records += [
        {"ts": T0 + 60 * (i + 1), "action": "purchase", "item_id": "i1", "amount": 5.2}
        for i in range(3)
    ]
    records.append({"ts": T0 + 400, "action": "review", "item_id": "i1", "rating": 5})
    return records


def test_refund_abuse_citing_logins_and_purchases_is_not_faithful() -> None:
    events = make_sequence(_brushing_case()).events
    invented = _verdict("refund_abuse", ["e0", "e1"], "Refunds exceed purchases (e0, e1).")
    brushing = _verdict("order_brushing", ["e1", "e2", "e4"], "Same item bought again (e1).")
    assert not cites_needed_kinds(invented, events)
    assert cites_needed_kinds(brushing, events)
    assert not cites_needed_kinds(_verdict("order_brushing", ["e9"], "x"), events)


def test_numbers_in_the_explanation_must_appear_in_the_case() -> None:
    sequence = make_sequence(_brushing_case())
    assert numbers_in("e12 2FA costs 1,899.50 USD, 3 times") == [1899.5, 3.0]
    right = _verdict("order_brushing", ["e1"], "3 purchases of 5.20 each, rated 5 stars (e1).")
    wrong = _verdict("order_brushing", ["e1"], "8 purchases refunded for 42.02 USD (e1).")
    assert stated_numbers_match(right, sequence, None)
    assert not stated_numbers_match(wrong, sequence, None)


def test_numbers_of_the_facts_measured_against_the_users_baseline_count_as_the_cases() -> None:
    """verdict_v10's browsing fact: the busiest session (7 views 13 s apart) after three visits
    a day apart; its count is the case's though the default rendering does not show it."""
    views = [{"ts": T0 + 86_400 * day, "action": "view", "item_id": f"d{day}"} for day in range(3)]
    views += [
        {"ts": T0 + 3 * 86_400 + 13 * i, "action": "view", "item_id": f"i{i}"} for i in range(7)
    ]
    stated = _verdict("scraping_bot", ["e3"], "busiest session 7 in 1m18s (e3)")
    assert stated_numbers_match(stated, make_sequence(views), None)


def test_the_amount_refunded_counted_by_order_counts_as_the_cases() -> None:
    """verdict_v26's refund fact: item a refunded by a request and its return, b by a request,
    c by a return: 12.50 + 30.00 + 20.00 = 62.50 refunded (per event: 75.00) of 70.00 bought."""
    prices = {"a": 12.5, "b": 30.0, "c": 20.0, "d": 7.5}
    records: list[dict[str, Any]] = [
        {"ts": T0 + i, "action": "purchase", "item_id": item, "amount": price}
        for i, (item, price) in enumerate(prices.items())
    ]
    refunds = [("a", "refund_request"), ("a", "return"), ("b", "refund_request"), ("c", "return")]
    records += [
        {"ts": T0 + 3600 * (i + 1), "action": action, "item_id": item, "amount": prices[item]}
        for i, (item, action) in enumerate(refunds)
    ]
    stated = _verdict("refund_abuse", ["e4"], "3 orders refunded for 62.50 of 70.00 bought (e4)")
    assert stated_numbers_match(stated, make_sequence(records), None)


def test_scorers_fill_their_fields_and_skip_faithfulness_for_a_fallback() -> None:
    sequence = card_testing_sequence()
    score = sequence_score(sequence)
    record = make_record("c1", "card_testing")
    good = _verdict("card_testing", ["e1", "e2"], "6 declined attempts on 6 cards (e0–e5).")
    scored = score_verdict(record, good, sequence, score)
    assert scored.schema_valid and scored.evidence_grounded
    assert scored.cites_needed_kinds and scored.numbers_match
    fallback = _verdict(
        "card_testing", [], "No model verdict.", proposed_action=None, fallback_reason="down"
    )
    failed = score_verdict(record, fallback, sequence, score)
    assert failed.schema_valid is False and failed.evidence_grounded is False
    assert failed.cites_needed_kinds is None and failed.numbers_match is None


@pytest.mark.parametrize(
    ("mode", "expected"), [("shown", "card_testing"), ("hidden", "hidden"), ("wrong", "none")]
)
def test_the_type_guess_can_be_hidden_or_replaced_by_the_likeliest_wrong_type(
    mode: str, expected: str
) -> None:
    score = sequence_score(card_testing_sequence())
    score.fraud_type_probs = {"card_testing": 0.8, "none": 0.15, "payment_fraud": 0.05}
    perturbed = perturb_guess(score, "card_testing", mode)  # type: ignore[arg-type]
    assert shown_guess(perturbed) == expected
    assert score.fraud_type_probs["card_testing"] == 0.8  # the scored original is untouched


def test_the_explanation_text_must_cite_events_of_its_types_kinds() -> None:
    events = make_sequence(_brushing_case()).events  # e0 login, e1–e3 purchases, e4 review
    held = _verdict("refund_abuse", ["e1"], "8 purchases followed by 7 refunds (e0, e1).")
    assert not explanation_cites_needed_kinds(held, events)  # e0 is a login
    assert explanation_cites_needed_kinds(_verdict("order_brushing", ["e1"], "e1, e4"), events)
    assert not explanation_cites_needed_kinds(_verdict("order_brushing", ["e1"], "e9"), events)
    assert explanation_cites_needed_kinds(_verdict("none", [], "a login (e0)"), events)
