"""Choosing the cases of an eval run: by tag, balanced per fraud type, then a slice."""

from __future__ import annotations

from collections import Counter

from detectors.cases import Case
from detectors.events import Event
from evals.task import CaseSelection


def _case(number: int, fraud_type: str, tags: list[str] | None = None) -> Case:
    event = Event(user_id=f"u{number}", ts=float(number), action="view")
    extra = {"tags": tags} if tags is not None else {}
    return Case(f"c{number}", fraud_type, ["allow"], [event], extra=extra)


def _ids(cases: list[Case]) -> list[str]:
    return [case.case_id for case in cases]


def test_per_type_keeps_the_first_cases_of_each_type_in_file_order() -> None:
    cases = [_case(n, kind) for n, kind in enumerate(["none"] * 5 + ["card_testing"] * 3)]
    chosen = CaseSelection(per_type=2).apply(cases)
    assert _ids(chosen) == ["c0", "c1", "c5", "c6"]
    assert Counter(case.fraud_type for case in chosen) == {"none": 2, "card_testing": 2}


def test_limit_applies_after_the_per_type_choice() -> None:
    cases = [_case(n, kind) for n, kind in enumerate(["none", "click_fraud"] * 4)]
    assert _ids(CaseSelection(limit=3, per_type=1).apply(cases)) == ["c0", "c1"]
    assert len(CaseSelection(limit=3).apply(cases)) == 3
    assert CaseSelection().apply(cases) == cases


def test_tag_keeps_only_the_cases_carrying_it_before_the_limit() -> None:
    tags = [["hard_negative", "travel"], None, ["hard_negative"], ["travel"], ["hard_negative"]]
    cases = [_case(n, "none", tag) for n, tag in enumerate(tags)]
    assert _ids(CaseSelection(tag="hard_negative").apply(cases)) == ["c0", "c2", "c4"]
    assert _ids(CaseSelection(tag="hard_negative", limit=2).apply(cases)) == ["c0", "c2"]
    assert CaseSelection(tag="no_such_tag").apply(cases) == []


def test_skip_leaves_out_the_first_selected_cases_before_the_limit() -> None:
    tags = [["hard_negative"], None, ["hard_negative"], ["hard_negative"], ["hard_negative"]]
    cases = [_case(n, "none", tag) for n, tag in enumerate(tags)]
    held_out = CaseSelection(tag="hard_negative", skip=1, limit=2).apply(cases)
    assert _ids(held_out) == ["c2", "c3"]
    assert CaseSelection(skip=5).apply(cases) == []


def test_the_selection_run_json_records_reads_back_and_old_runs_took_every_tag() -> None:
    selection = CaseSelection(limit=4, per_type=2, tag="hard_negative", skip=60)
    assert CaseSelection.recorded(selection.describe()) == selection
    assert CaseSelection.recorded({"limit": None, "per_type": 3}) == CaseSelection(per_type=3)
