"""Accounts of one screened batch sharing a device or ip are linked; from verdict_v26 the links
are evidence facts, and a coupon redeemed by linked accounts shows promo abuse's whole pattern
(FORMATS.md §3), so a `none` answer there is sent back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_doubles import T0, FixedScreener, ScriptedChatModel, answer_json, make_sequence

from agent.investigator import Investigator, flagged_in_batch
from agent.linked_accounts import LinkedAccounts, describe_links, link_accounts
from agent.pattern_shown import shown_patterns
from agent.settings import Settings
from detectors.loading import read_cases
from detectors.sequences import Sequence
from evals.solver import case_sequence

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def _new_account(user: str, device: str, ip: str, coupon: str | None) -> Sequence:
    """Sign up, redeem `coupon` (if any), buy one cheap item: any new customer's six events."""
    where = {"device_id": device, "ip": ip}
    records: list[dict[str, object]] = [{"ts": T0, "action": "account_signup", **where}]
    if coupon is not None:
        records.append({"ts": T0 + 60, "action": "coupon_redeem", "status": "success",
                        "attrs": {"coupon": coupon}, **where})  # fmt: skip
    records += [
        {"ts": T0 + 120, "action": "view", "item_id": "i1", **where},
        {"ts": T0 + 180, "action": "purchase", "item_id": "i1", "amount": 3.59, **where},
    ]
    return make_sequence(records, user_id=user)


def _farm_and_a_stranger() -> list[Sequence]:
    return [
        _new_account("farm-1", "d-farm", "10.0.0.7", "WELCOME5"),
        _new_account("farm-2", "d-farm", "10.0.0.8", "NEU10"),
        _new_account("stranger", "d-own", "10.9.9.9", "WELCOME5"),
    ]


def test_accounts_sharing_a_device_are_linked_with_the_coupons_the_others_redeemed() -> None:
    farm_1, farm_2, stranger = link_accounts(_farm_and_a_stranger())

    assert farm_1 == LinkedAccounts((("device", "d-farm", 1),), 1, ("NEU10",))
    assert farm_2 == LinkedAccounts((("device", "d-farm", 1),), 1, ("WELCOME5",))
    # The same coupon code on an unshared device links nothing.
    assert not stranger and stranger.coupon_accounts == 0
    # One user's own sequences do not link it to itself.
    alone = _new_account("farm-1", "d-farm", "10.0.0.7", "WELCOME5")
    assert not link_accounts([alone, alone])[0]


def test_the_links_are_facts_citing_this_accounts_events() -> None:
    sequences = _farm_and_a_stranger()
    links = link_accounts(sequences)
    assert describe_links(links[0], sequences[0].events) == [
        "device d-farm (e0–e3) is used by 1 other account of the users screened with this one",
        "coupon WELCOME5 redeemed by this account (e1), and coupon NEU10 by 1 account sharing "
        "its device or ip",
    ]
    assert describe_links(links[2], sequences[2].events) == []
    assert describe_links(None, sequences[0].events) == []


def test_a_coupon_redeemed_by_linked_accounts_shows_promo_abuse_and_only_then() -> None:
    sequences = _farm_and_a_stranger()
    links = link_accounts(sequences)
    events = sequences[0].events
    assert set(shown_patterns(events, links=links[0])) == {"promo_abuse"}
    assert shown_patterns(events) == {}  # one account's own events show nothing
    # Linked, but this account redeemed nothing: no coupon of its own to abuse.
    no_coupon = _new_account("farm-3", "d-farm", "10.0.0.9", None)
    with_it = link_accounts([*sequences, no_coupon])
    assert with_it[3].coupon_accounts == 2
    assert shown_patterns(no_coupon.events, links=with_it[3]) == {}


def test_flagged_cases_of_a_batch_carry_their_links() -> None:
    sequences = _farm_and_a_stranger()
    scores = FixedScreener(0.95).explain(sequences)
    cases = flagged_in_batch(["c1", "c2", "c3"], sequences, scores)
    assert [(case.case_id, bool(case.links)) for case in cases] == [
        ("c1", True),
        ("c2", True),
        ("c3", False),
    ]


PLAIN_NONE = answer_json(
    "none", "allow", ["e0"], 0.9, "none: a new customer bought one item with a welcome coupon"
)


@pytest.mark.parametrize(("version", "outcome"), [
    ("verdict_v25", ("none", "allow", 1)),  # links neither shown nor checked
    ("verdict_v26", ("promo_abuse", "manual_review", 2)),
])  # fmt: skip
def test_from_v26_a_farm_accounts_none_is_sent_back_and_falls_back_to_promo_abuse(
    tmp_path: Path, version: str, outcome: tuple[str, str, int]
) -> None:
    sequences = _farm_and_a_stranger()
    links = link_accounts(sequences)
    chat = ScriptedChatModel([PLAIN_NONE] * 2)
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version=version)
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    verdict = asyncio.run(investigator.investigate("c1", sequences[0], links=links[0]))

    assert (verdict.fraud_type, verdict.action, verdict.llm_calls) == outcome
    shown_to_model = chat.requests[0][-1]["content"]
    assert ("is used by 1 other account" in shown_to_model) == (version == "verdict_v26")
    if version == "verdict_v26":
        assert verdict.fallback_reason is not None
        assert "promo_abuse's pattern: coupon WELCOME5" in chat.requests[1][-1]["content"]


@pytest.mark.parametrize("name", ["sim_v1_test", "sim_v2_test", "sim_v3_holdout2"])
def test_in_the_case_sets_only_promo_abusers_are_linked(name: str) -> None:
    cases, _ = read_cases(DATASETS / f"{name}.jsonl.gz")
    sequences = [case_sequence(case) for case in cases]
    links = link_accounts(sequences)
    linked = [case for case, link in zip(cases, links, strict=True) if link]
    assert {case.fraud_type for case in linked} == {"promo_abuse"}
    shown = [
        case
        for case, sequence, link in zip(cases, sequences, links, strict=True)
        if "promo_abuse" in shown_patterns(sequence.events, links=link)
        and not shown_patterns(sequence.events)
    ]
    # The links show the pattern of farm accounts whose own events do not.
    assert len(shown) >= 3 and {case.fraud_type for case in shown} == {"promo_abuse"}


def test_an_account_sharing_many_ips_shows_the_first_three_and_counts_the_rest() -> None:
    hopping = make_sequence(
        [{"ts": T0 + i, "action": "view", "item_id": "i1", "ip": f"10.0.{i}.1"} for i in range(5)],
        user_id="hopper",
    )
    others = [
        make_sequence([{"ts": T0, "action": "view", "ip": f"10.0.{i}.1"}], user_id=f"u{i}")
        for i in range(5)
    ]
    links = link_accounts([hopping, *others])[0]
    facts = describe_links(links, hopping.events)
    assert len(links.shared) == 5 and len(facts) == 4
    assert (
        facts[0]
        == "ip 10.0.0.0/24 (e0) is used by 1 other account of the users screened with this one"
    )
    assert facts[-1] == "2 more devices or ips of this account are used by other accounts"
