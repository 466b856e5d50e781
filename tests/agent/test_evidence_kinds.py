"""The event kinds each fraud type rests on: what the agent accepts as evidence of a type."""

from __future__ import annotations

from typing import Any

from agent_doubles import T0, make_sequence

from agent.evidence_kinds import EVIDENCE_KINDS, REQUIRED_KINDS, evidence_kind_problem
from detectors.cases import FRAUD_TYPES

RECORDS: list[dict[str, Any]] = [
    {"ts": T0, "action": "login", "status": "success", "device_id": "d2"},
    {"ts": T0 + 10, "action": "payment_attempt", "amount": 1.0, "status": "declined"},
    {"ts": T0 + 20, "action": "view", "item_id": "i1"},
    {"ts": T0 + 30, "action": "refund_request", "item_id": "i1", "amount": 9.0},
]
LOGIN, PAYMENT, VIEW, REFUND = make_sequence(RECORDS).events


def test_every_fraud_type_has_its_evidence_kinds() -> None:
    assert set(EVIDENCE_KINDS) == set(FRAUD_TYPES) - {"none"}
    for fraud_type, required in REQUIRED_KINDS.items():
        assert required <= EVIDENCE_KINDS[fraud_type], fraud_type


def test_a_type_needs_one_cited_event_of_its_defining_kind() -> None:
    assert evidence_kind_problem("card_testing", [PAYMENT, VIEW]) is None  # one extra is fine
    problem = evidence_kind_problem("refund_abuse", [PAYMENT, LOGIN])
    assert problem is not None
    assert problem.startswith("refund_abuse rests on refund_request or return events")
    assert "cites only login or payment_attempt events" in problem
    assert evidence_kind_problem("refund_abuse", [REFUND]) is None


def test_a_type_without_a_defining_kind_needs_one_event_of_its_kinds() -> None:
    assert evidence_kind_problem("account_takeover", [LOGIN]) is None
    assert evidence_kind_problem("account_takeover", [VIEW]) is not None


def test_none_and_uncited_answers_are_left_to_the_other_checks() -> None:
    assert evidence_kind_problem("none", [VIEW]) is None
    assert evidence_kind_problem("scraping_bot", []) is None
