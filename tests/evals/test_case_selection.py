"""Choosing the cases of an eval run: balanced per fraud type, then limited."""

from __future__ import annotations

from collections import Counter

from detectors.cases import Case
from detectors.events import Event
from evals.task import select_cases


def _case(number: int, fraud_type: str) -> Case:
    event = Event(user_id=f"u{number}", ts=float(number), action="view")
    return Case(f"c{number}", fraud_type, ["allow"], [event])


def test_per_type_keeps_the_first_cases_of_each_type_in_file_order() -> None:
    cases = [_case(n, kind) for n, kind in enumerate(["none"] * 5 + ["card_testing"] * 3)]
    chosen = select_cases(cases, limit=None, per_type=2)
    assert [case.case_id for case in chosen] == ["c0", "c1", "c5", "c6"]
    assert Counter(case.fraud_type for case in chosen) == {"none": 2, "card_testing": 2}


def test_limit_applies_after_the_per_type_choice() -> None:
    cases = [_case(n, kind) for n, kind in enumerate(["none", "click_fraud"] * 4)]
    assert [case.case_id for case in select_cases(cases, limit=3, per_type=1)] == ["c0", "c1"]
    assert len(select_cases(cases, limit=3, per_type=None)) == 3
    assert select_cases(cases, limit=None, per_type=None) == cases
