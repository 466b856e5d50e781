"""A `none` answer on a case that shows a type's whole pattern is sent back with what it shows,
and a second one falls back (v11); an answer sent back on such a case is told the pattern
instead of being offered `none` (v12); no legitimate user of the case sets shows a pattern, and
no fraud case shows another type's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_doubles import T0, FixedScreener, ScriptedChatModel, answer_json, make_sequence

from agent.claims_check import claim_problems
from agent.investigator import Investigator
from agent.pattern_check import pattern_problems
from agent.pattern_shown import (
    EXTRA_SHOWN,
    naming_shown_patterns,
    none_problems,
    shown_patterns,
)
from agent.settings import Settings
from agent.verdict import Verdict
from detectors.loading import read_cases

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def _card_tester() -> list[dict[str, object]]:
    """Three small payments declined on three cards, hours apart (low and slow)."""
    return [
        {"ts": T0 + 3600 * i, "action": "payment_attempt", "amount": 2.0 + i,
         "payment_method": f"card:{i}", "status": "declined"}
        for i in range(3)
    ]  # fmt: skip


def _viewer(gap: float, jitter: float, views: int = 40) -> list[dict[str, object]]:
    """Views `gap` seconds apart, every other gap stretched by `jitter` (0: machine-regular)."""
    records: list[dict[str, object]] = []
    ts = T0
    for i in range(views):
        records.append({"ts": ts, "action": "view", "item_id": f"i{i}"})
        ts += gap * (1 + (jitter if i % 2 else -jitter))
    return records


def test_declines_on_three_cards_show_card_testing_with_the_events() -> None:
    events = make_sequence(_card_tester()).events
    assert shown_patterns(events) == {
        "card_testing": "3 declined payment attempts on 3 instruments (e0–e2)"
    }
    assert none_problems("none", shown_patterns(events)) == [
        "none does not fit this case: it shows card_testing's pattern: 3 declined payment "
        "attempts on 3 instruments (e0–e2). Name the type whose pattern the evidence facts show"
    ]
    assert none_problems("card_testing", shown_patterns(events)) == []


def test_two_declines_on_the_same_card_show_nothing() -> None:
    events = make_sequence(_card_tester()[:2]).events
    assert shown_patterns(events) == {}


def test_regular_browsing_shows_a_bot_and_a_persons_rhythm_or_a_purchase_does_not() -> None:
    regular = make_sequence(_viewer(gap=20, jitter=0.1)).events
    assert list(shown_patterns(regular)) == ["scraping_bot"]
    human = make_sequence(_viewer(gap=20, jitter=0.9)).events
    assert shown_patterns(human) == {}
    bought = [*_viewer(gap=20, jitter=0.1), {"ts": T0 + 900, "action": "purchase",
                                             "item_id": "i1"}]  # fmt: skip
    assert shown_patterns(make_sequence(bought).events) == {}
    assert shown_patterns(make_sequence(_viewer(gap=20, jitter=0.1, views=39)).events) == {}


@pytest.mark.parametrize("extras", [(), ("takeover",), tuple(EXTRA_SHOWN)])
@pytest.mark.parametrize("name", ["sim_v1_train", "sim_v1_dev", "sim_v1_test", "sim_v2_train",
                                  "sim_v2_dev", "sim_v2_test", "sim_v3_holdout",
                                  "sim_v3_holdout2", "sim_v3_holdout3"])  # fmt: skip
def test_no_legitimate_user_shows_a_pattern_and_no_fraud_another_types(
    name: str, extras: tuple[str, ...]
) -> None:
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    honest = [case for case in cases if not case.is_fraud]
    assert len(honest) >= 200
    # v27's refund floor, set before sim_v3_holdout3 was written, fires on one honest user
    # there: a travelling hard negative who refunded both of their orders, unreturned.
    accused = {"sim_v3_holdout3": ["sim-000531"]}.get(name, [])
    expected = accused if "refunded_value" in extras else []
    assert [case.case_id for case in honest if shown_patterns(case.events, extras)] == expected
    fraud = [case for case in cases if case.is_fraud]
    shown = {case.case_id: set(shown_patterns(case.events, extras)) for case in fraud}
    # Patterns overlap: one sim_v1_train scalper's declines on 3 cards show card testing's.
    overlapping = {"sim_v1_train": ["sim-000101"]}.get(name, [])
    assert [c.case_id for c in fraud if shown[c.case_id] - {c.fraud_type}] == overlapping
    # The check is not idle: most of the fraud shows its own pattern.
    assert sum(c.fraud_type in shown[c.case_id] for c in fraud) >= len(fraud) // 2
    if "takeover" in extras:  # every takeover of the simulators shows its pattern
        takeovers = [c.case_id for c in fraud if c.fraud_type == "account_takeover"]
        assert [c for c in takeovers if "account_takeover" not in shown[c]] == []


def _owner_then(device: str, gap_s: float, changes: list[str]) -> list[dict[str, object]]:
    """20 events on the owner's phone, a failed then a good login from `device` `gap_s` later,
    then `changes` a minute apart."""
    owned = [{"ts": T0 + i, "action": "view", "item_id": f"i{i}", "device_id": "phone"}
             for i in range(20)]  # fmt: skip
    start = T0 + 20 + gap_s
    logins = [
        {"ts": start, "action": "login", "status": "failed", "device_id": device},
        {"ts": start + 60, "action": "login", "status": "success", "device_id": device},
    ]
    changed = [{"ts": start + 120 + 60 * i, "action": c} for i, c in enumerate(changes)]
    return [*owned, *logins, *changed]


def test_credentials_changed_from_a_device_new_to_a_long_history_show_a_takeover() -> None:
    events = make_sequence(_owner_then("laptop-x", 600, ["email_change", "address_change"])).events
    assert shown_patterns(events) == {}  # before v13
    assert shown_patterns(events, ["takeover"]) == {
        "account_takeover": "a login from device laptop-x, new after 20 earlier events (e21), "
        "then 2 credential or address changes within 4 hours (e22–e23)"
    }
    for records in (
        _owner_then("phone", 600, ["email_change"]),  # the owner's own device
        _owner_then("laptop-x", 600, []),  # a new device alone: a new phone, a trip
        _owner_then("laptop-x", 600, ["payment_method_add"]),  # a card added is not a change
        _owner_then("laptop-x", 600, ["email_change"])[15:],  # too short a history
    ):
        assert shown_patterns(make_sequence(records).events, ["takeover"]) == {}


def test_from_v27_five_declines_show_card_testing_on_any_number_of_cards() -> None:
    declines = [
        {"ts": T0 + 3600 * i, "action": "payment_attempt", "amount": 1.0 + i,
         "payment_method": f"card:{i % 2}", "status": "declined"}
        for i in range(5)
    ]  # fmt: skip
    events = make_sequence(declines).events
    assert shown_patterns(events) == {}  # two cards: before v27 nothing is shown
    assert shown_patterns(events, ["declines"]) == {
        "card_testing": "5 declined payment attempts (e0–e4)"
    }
    assert shown_patterns(make_sequence(declines[:4]).events, ["declines"]) == {}
    # three cards show the older floor's wording, which comes first
    assert shown_patterns(make_sequence(_card_tester()).events, ["declines"]) == {
        "card_testing": "3 declined payment attempts on 3 instruments (e0–e2)"
    }


@pytest.mark.parametrize(("version", "outcome"), [
    ("verdict_v26", ("none", "allow", 1)),
    ("verdict_v27", ("card_testing", "manual_review", 3)),  # the answer, its citing turn
])  # fmt: skip
def test_from_v27_a_none_on_five_declines_is_sent_back(
    tmp_path: Path, version: str, outcome: tuple[str, str, int]
) -> None:
    declines = [
        {"ts": T0 + 3600 * i, "action": "payment_attempt", "amount": 1.0 + i,
         "payment_method": f"card:{i % 2}", "status": "declined"}
        for i in range(5)
    ]  # fmt: skip
    plain_none = answer_json("none", "allow", ["e0"], 0.9, "small payments, nothing else (e0)")
    tester = answer_json("card_testing", "block_account", ["e0", "e1", "e2", "e3", "e4"], 0.9,
                         "card_testing (block_account): 5 declined attempts (e0–e4)")  # fmt: skip
    chat = ScriptedChatModel([plain_none, tester])
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(declines)))
    assert (verdict.fraud_type, verdict.action, verdict.llm_calls) == outcome
    sent_back = "it shows card_testing's pattern: 5 declined payment attempts (e0–e4)"
    retries = [request[-1]["content"] for request in chat.requests[1:]]
    assert any(sent_back in retry for retry in retries) == (version == "verdict_v27")


def _refunder(
    prices: list[float], refunded: list[int], returned: tuple[int, ...] = ()
) -> list[dict[str, object]]:
    """Orders at `prices` a day apart; the `refunded` ones get a refund request, the
    `returned` ones a return of the item too."""
    records: list[dict[str, object]] = []
    for i, price in enumerate(prices):
        day = T0 + 86_400 * i
        records.append({"ts": day, "action": "purchase", "item_id": f"i{i}", "amount": price})
        if i in refunded:
            records.append({"ts": day + 3600, "action": "refund_request", "item_id": f"i{i}",
                            "amount": price})  # fmt: skip
        if i in returned:
            records.append({"ts": day + 7200, "action": "return", "item_id": f"i{i}",
                            "amount": price})  # fmt: skip
    return records


def test_from_v27_two_unreturned_refunds_of_half_the_value_show_refund_abuse() -> None:
    events = make_sequence(_refunder([40.0, 170.0, 330.0], refunded=[1, 2])).events
    assert shown_patterns(events) == {}  # two refunds: before v27 nothing is shown
    assert shown_patterns(events, ["refunded_value"]) == {
        "refund_abuse": "2 orders refunded with no item returned (e2, e4), 500.00 of 540.00 bought"
    }
    for records in (
        _refunder([40.0, 170.0, 330.0], refunded=[2]),  # one order
        _refunder([400.0, 170.0, 30.0], refunded=[1, 2]),  # a third of the value
        _refunder([40.0, 170.0, 330.0], refunded=[1, 2], returned=(2,)),  # one item sent back
    ):
        assert shown_patterns(make_sequence(records).events, ["refunded_value"]) == {}


def _new_card_buyer(
    billing: str, after_s: float, declined: bool = False
) -> list[dict[str, object]]:
    """A week at home in RU, then a card added and paid with `after_s` later, billed to
    `billing` (a declined try first when `declined`)."""
    home = [{"ts": T0 + 3600 * i, "action": "login", "status": "success", "country": "RU"}
            for i in range(3)]  # fmt: skip
    added = T0 + 7 * 86_400
    pay = {"action": "payment_attempt", "amount": 162.17, "payment_method": "card:4111111111113172",
           "country": "RU", "attrs": {"billing_country": billing}}  # fmt: skip
    tries = [{**pay, "ts": added + after_s - 30, "status": "declined"}] if declined else []
    return [
        *home,
        {"ts": added, "action": "payment_method_add", "country": "RU",
         "payment_method": "card:4111111111113172"},
        *tries,
        {**pay, "ts": added + after_s, "status": "approved"},
    ]  # fmt: skip


def test_from_v28_a_new_card_paid_with_abroad_within_the_hour_shows_payment_fraud() -> None:
    events = make_sequence(_new_card_buyer("MX", after_s=120)).events
    assert shown_patterns(events) == {}  # before v28 payment fraud has no shown pattern
    assert shown_patterns(events, ["new_card_abroad"]) == {
        "payment_fraud": "payment method card:****3172 added (e3) and paid with 2 min later, "
        "billed to MX while the account's home is RU (e4)"
    }
    for records in (
        _new_card_buyer("RU", after_s=120),  # billed at home
        _new_card_buyer("MX", after_s=2 * 3600),  # not rushed
        _new_card_buyer("MX", after_s=120, declined=True),  # declines: card testing's evidence
    ):
        assert shown_patterns(make_sequence(records).events, ["new_card_abroad"]) == {}


def test_an_unknown_floor_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown shown-pattern floors \['takeovr'\]"):
        shown_patterns(make_sequence(_card_tester()).events, ["takeovr"])


PLAIN_NONE = "none: none of these patterns. Action allow, or monitor when something is unusual."
CARD_TESTING = answer_json(
    "card_testing", "block_account", ["e0", "e1", "e2"], 0.9,
    "card_testing (block_account): 3 declines on 3 cards (e0–e2)",
)  # fmt: skip


def _investigate_card_tester(
    tmp_path: Path, version: str, answers: list[str]
) -> tuple[Verdict, ScriptedChatModel]:
    """The card tester investigated with `version`, the model answering `answers` in turn
    (flagged below the policy's high score, where a benign answer may stand)."""
    chat = ScriptedChatModel(answers)
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    return asyncio.run(investigator.investigate("c1", make_sequence(_card_tester()))), chat


@pytest.mark.parametrize(("version", "calls", "outcome"), [
    ("verdict_v10", 2, ("none", "allow")),
    ("verdict_v11", 2, (None, "manual_review")),
])  # fmt: skip
def test_from_v11_a_plain_none_on_a_shown_pattern_is_asked_again_then_falls_back(
    tmp_path: Path, version: str, calls: int, outcome: tuple[str | None, str]
) -> None:
    plain_none = answer_json("none", "allow", ["e0"], 0.9, PLAIN_NONE)
    verdict, chat = _investigate_card_tester(tmp_path, version, [plain_none] * 2)

    assert verdict.llm_calls == calls
    assert verdict.action == outcome[1]
    if outcome[0] is not None:
        assert verdict.fraud_type == outcome[0]
    else:
        assert verdict.fallback_reason is not None
        assert "it shows card_testing's pattern" in verdict.fallback_reason
    retry = chat.requests[1][-1]["content"]
    assert ("none does not fit this case" in retry) == (version == "verdict_v11")


def test_from_v11_a_none_then_the_shown_type_stands(tmp_path: Path) -> None:
    plain_none = answer_json("none", "allow", ["e0"], 0.9, PLAIN_NONE)
    verdict, _ = _investigate_card_tester(tmp_path, "verdict_v11", [plain_none, CARD_TESTING])
    assert (verdict.fraud_type, verdict.llm_calls, verdict.fallback_reason) == (
        "card_testing",
        2,
        None,
    )


def test_a_refuted_answer_on_a_shown_pattern_is_told_the_pattern_not_offered_none() -> None:
    events = make_sequence(_card_tester()).events
    refuted = pattern_problems("refund_abuse", events)
    assert refuted[0].endswith("or none (allow, or monitor when something is unusual) when no "
                               "pattern fits")  # fmt: skip
    shown = shown_patterns(events)
    assert naming_shown_patterns(refuted, "refund_abuse", shown) == [
        "refund_abuse does not fit this case: the case has no refunds or returns. Name the type "
        "whose pattern the evidence facts show",
        "the case shows card_testing's pattern: 3 declined payment attempts on 3 instruments "
        "(e0–e2)",
    ]
    # Nothing to send back, or the answer names the shown type, or nothing is shown: unchanged.
    assert naming_shown_patterns([], "refund_abuse", shown) == []
    assert naming_shown_patterns(["x"], "card_testing", shown) == ["x"]
    no_pattern = shown_patterns(make_sequence(_card_tester()[:2]).events)
    assert naming_shown_patterns(refuted, "refund_abuse", no_pattern) == refuted


def test_from_v12_the_detectors_wrong_guess_refuted_leads_to_the_shown_type(
    tmp_path: Path,
) -> None:
    refund_abuse = answer_json("refund_abuse", "manual_review", ["e0"], 0.9,
                               "refund_abuse (manual_review): small payments (e0)")  # fmt: skip
    verdict, chat = _investigate_card_tester(tmp_path, "verdict_v12", [refund_abuse, CARD_TESTING])
    assert (verdict.fraud_type, verdict.llm_calls) == ("card_testing", 2)
    retry = chat.requests[1][-1]["content"]
    assert "the case shows card_testing's pattern" in retry
    assert "or none" not in retry


def test_from_v13_an_answer_of_the_shown_type_sent_back_is_told_to_keep_it() -> None:
    events = make_sequence(_card_tester()).events
    shown = shown_patterns(events)
    overstated = claim_problems("card_testing", "card_testing: 9 declined payment attempts", events)
    assert overstated[0].endswith("when no pattern fits")
    assert naming_shown_patterns(overstated, "card_testing", shown) == overstated  # v12
    kept = naming_shown_patterns(overstated, "card_testing", shown, own_type_too=True)
    assert "or none" not in " ".join(kept)
    assert kept[-1] == (
        "the case does show card_testing's pattern: 3 declined payment attempts on 3 "
        "instruments (e0–e2); keep card_testing"
    )


@pytest.mark.parametrize(("version", "expected"), [
    ("verdict_v12", "refund_abuse"),  # the detector's guess
    ("verdict_v13", "card_testing"),  # the one pattern the case shows
])  # fmt: skip
def test_from_v13_a_fallback_takes_the_type_of_the_one_shown_pattern(
    tmp_path: Path, version: str, expected: str
) -> None:
    refund_abuse = answer_json("refund_abuse", "manual_review", ["e0"], 0.9,
                               "refund_abuse (manual_review): small payments (e0)")  # fmt: skip
    chat = ScriptedChatModel([refund_abuse] * 2)
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    screener = FixedScreener(0.95, fraud_type_probs={"refund_abuse": 0.7, "card_testing": 0.2})
    investigator = Investigator(settings, chat, screener, retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", make_sequence(_card_tester())))

    assert verdict.fallback_reason is not None
    assert (verdict.fraud_type, verdict.action) == (expected, "manual_review")
    if version == "verdict_v13":
        assert verdict.confidence == pytest.approx(0.2)
        assert "the case shows card_testing's pattern (3 declined" in verdict.explanation
