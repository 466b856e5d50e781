"""A fraud answer whose explanation states events its case does not have is sent back with
what the case shows; counts of a subset, negations and labels claim nothing false."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agent_doubles import T0, FixedScreener, ScriptedChatModel, answer_json, make_sequence

from agent.claims_check import claim_problems, stated_claims
from agent.investigator import Investigator
from agent.settings import Settings
from detectors.events import Event
from detectors.loading import read_cases

ROOT = Path(__file__).resolve().parents[2]
DEFINITION_AS_FACTS = (
    "order_brushing (hold_order): 3 purchases of the same item, 5★ reviews, little browsing, "
    "no refunds"
)
"""v8's answer for a frequent traveller of sim_v2: the type's definition, not the case."""


def _traveller() -> list[Event]:
    """Logins from three countries, views, two purchases; no review, no refund."""
    records: list[dict[str, object]] = [
        {"ts": T0 + 86_400 * i, "action": "login", "status": "success", "country": country}
        for i, country in enumerate(("HK", "RU", "IN", "TW"))
    ]
    records += [{"ts": T0 + 100 + i, "action": "view", "item_id": f"i{i}"} for i in range(6)]
    records += [{"ts": T0 + 500 + i, "action": "purchase", "item_id": f"i{i}"} for i in range(2)]
    return make_sequence(records).events


def _summary(explanation: str) -> list[tuple[str, int | None, int | None]]:
    return [(c.kind.name, c.stars, c.count) for c in stated_claims(explanation)]


def test_the_definition_written_as_facts_is_refuted_with_what_the_case_has() -> None:
    problems = claim_problems("order_brushing", DEFINITION_AS_FACTS, _traveller())
    assert len(problems) == 1
    assert (
        "5★ reviews (the case has 0); 3 purchases of the same item (the case has at most 1 of "
        "one item)"
    ) in problems[0]


def test_repeats_of_one_item_are_counted_on_that_item() -> None:
    """ "of the same item" is the brushing claim: repeat orders of one item, not several."""
    records = [{"ts": T0 + i, "action": "purchase", "item_id": item} for i, item in
               enumerate(("a", "b", "a", "c", "a"))]  # fmt: skip
    events = make_sequence(records).events
    repeats = "3 purchases of the same item (e0, e2, e4)"
    assert claim_problems("order_brushing", repeats, events) == []
    assert claim_problems("order_brushing", "5 purchases (e0–e4)", events) == []
    refuted = claim_problems("order_brushing", "4 purchases of one item", events)
    assert "4 purchases of the same item (the case has at most 3 of one item)" in refuted[0]


def test_counts_ratings_and_labels_are_read_as_written() -> None:
    assert _summary("9× 5★ reviews of it (e3–e11)") == [("reviews", 5, 9)]
    assert _summary("payment attempts: 62 (e4, e6), 58 declined (e5)") == [
        ("declined payment attempts", None, 58),
        ("payment attempts", None, 62),
    ]
    assert _summary("7 refund requests after 8 purchases") == [
        ("purchases", None, 8),
        ("refunds or returns", None, 7),
    ]
    # an amount is not a count
    assert _summary("refunds 42 USD purchases (e2)") == [
        ("purchases", None, None),
        ("refunds or returns", None, None),
    ]


def test_negations_zero_counts_and_list_labels_claim_nothing() -> None:
    claims = _summary(
        "62 views at one-second gaps (e0–e61), with no search, cart or purchase; 0 declined; "
        "credential or address changes: payment_method_add (e6); ad clicks without app installs"
    )
    assert claims == [("ad clicks", None, None), ("added payment methods", None, None)]


def test_a_count_of_a_subset_stands_and_an_answer_of_none_is_not_checked() -> None:
    events = _traveller()
    assert claim_problems("order_brushing", "order_brushing: 1 purchase (e10)", events) == []
    assert claim_problems("none", DEFINITION_AS_FACTS, events) == []


def _refuted_answers(run: str, dataset: str) -> tuple[int, list[str]]:
    """Of a recorded run's model answers naming a fraud type: how many, and the refuted ones."""
    cases, _ = read_cases(ROOT / "evals" / "datasets" / f"{dataset}.jsonl.gz")
    events = {case.case_id: case.events for case in cases}
    lines = (ROOT / "evals" / "reports" / run / "cases.jsonl").read_text().splitlines()
    answers = [record for line in lines if (record := json.loads(line))["verdict"]]
    fraud = [
        record
        for record in answers
        if record["verdict"]["fraud_type"] != "none" and not record["verdict"]["fallback_reason"]
    ]
    refuted = [
        record["case_id"]
        for record in fraud
        if claim_problems(
            record["verdict"]["fraud_type"],
            record["verdict"]["explanation"],
            events[record["case_id"]],
        )
    ]
    return len(fraud), refuted


def test_no_answer_of_the_recorded_sim_v1_gate_run_is_refuted() -> None:
    """verdict_v8's 28 right answers on sim_v1_test: the check sends none of them back."""
    assert _refuted_answers("qwen15-v8-test-pt3", "sim_v1_test") == (28, [])


def test_half_of_v8s_fraud_answers_on_sim_v2_hard_negatives_are_refuted() -> None:
    """The three order-brushing answers for travellers and binge browsers without a review."""
    count, refuted = _refuted_answers("qwen15-v8-simv2-hardneg", "sim_v2_test")
    assert (count, refuted) == (6, ["sim-001817", "sim-001841", "sim-001831"])


def test_a_refuted_claim_is_asked_again_with_what_the_case_shows(tmp_path: Path) -> None:
    records = [
        {"ts": T0 + 86_400 * i, "action": "login", "status": "success", "country": country}
        for i, country in enumerate(("HK", "RU", "IN", "TW"))
    ]
    records += [{"ts": T0 + 500 + i, "action": "purchase", "item_id": f"i{i}"} for i in range(2)]
    chat = ScriptedChatModel(
        [
            answer_json("order_brushing", "manual_review", ["e4", "e5"], 0.9, DEFINITION_AS_FACTS),
            answer_json("none", "monitor", ["e1", "e2"], 0.7,
                        "none (monitor): logins from 4 countries (e0–e3), 2 purchases (e4, e5)"),
        ]
    )  # fmt: skip
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version="verdict_v9")
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(records)))

    assert (verdict.fraud_type, verdict.action, verdict.llm_calls) == ("none", "monitor", 2)
    retry = chat.requests[1][-1]["content"]
    assert "5★ reviews (the case has 0); 3 purchases of the same item" in retry
