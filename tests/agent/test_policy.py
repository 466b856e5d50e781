"""The risk policy: the per-type playbook, bounds on severe actions, floors against benign
answers, TOML overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.policy import PolicyInput, RiskPolicy
from agent.prompting import PROMPTS_DIR
from detectors.cases import FRAUD_TYPES


@pytest.fixture(scope="module")
def policy() -> RiskPolicy:
    return RiskPolicy.load()


def test_a_confident_block_on_a_high_score_stands(policy: RiskPolicy) -> None:
    decision = policy.apply(PolicyInput("card_testing", 0.9, "block_account", 0.995, True))
    assert decision.action == "block_account" and decision.notes == []


@pytest.mark.parametrize(
    ("fraud_type", "confidence", "score", "unmet"),
    [
        ("card_testing", 0.5, 0.995, "confidence ≥ 0.8, got 0.50"),
        ("card_testing", 0.9, 0.95, "detector score ≥ 0.9908, got 0.950"),
        ("none", 0.9, 0.995, "a fraud type other than none"),
    ],
)
def test_block_needs_score_confidence_and_a_type(
    policy: RiskPolicy, fraud_type: str, confidence: float, score: float, unmet: str
) -> None:
    decision = policy.apply(
        PolicyInput(fraud_type, confidence, "block_account", score, True)  # type: ignore[arg-type]
    )
    assert decision.action == "manual_review"
    assert decision.notes[0].startswith("block_account → manual_review: needs")
    assert unmet in decision.notes[0]


def test_none_on_a_very_high_score_goes_to_review_never_allow(policy: RiskPolicy) -> None:
    decision = policy.apply(PolicyInput("none", 0.95, "allow", 0.995, True))
    assert decision.action == "manual_review"
    assert "benign answer (none/allow)" in decision.notes[0]


@pytest.mark.parametrize("score", [0.6, 0.95])
def test_a_benign_answer_below_the_far_tail_stands(policy: RiskPolicy, score: float) -> None:
    # 0.95: flagged (the 5 % budget starts near 0.88) but where honest users still score.
    decision = policy.apply(PolicyInput("none", 0.8, "allow", score, True))
    assert decision.action == "allow" and decision.notes == []


def test_instruction_like_text_floors_a_flagged_case(policy: RiskPolicy) -> None:
    flagged = policy.apply(PolicyInput("none", 0.9, "monitor", 0.6, True, ["e4"]))
    assert flagged.action == "manual_review" and "(e4)" in flagged.notes[0]
    unflagged = policy.apply(PolicyInput("none", 0.9, "monitor", 0.2, False, ["e4"]))
    assert unflagged.action == "monitor"


def test_a_named_fraud_is_never_allowed(policy: RiskPolicy) -> None:
    case = PolicyInput("refund_abuse", 0.6, "allow", 0.3, False)
    assert policy.apply(case).action == "manual_review"  # by the playbook
    no_playbook = RiskPolicy.model_validate({**policy.model_dump(), "playbook": {}})
    decision = no_playbook.apply(case)
    assert decision.action == "manual_review" and "refund_abuse named" in decision.notes[0]


def test_a_policy_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("high_score = 0.95\n[actions.block_account]\nmin_confidence = 0.5\n")
    custom = RiskPolicy.load(path)
    assert custom.high_score == 0.95
    assert custom.actions["block_account"].min_confidence == 0.5
    assert custom.actions["block_account"].min_score == 0.9908  # kept from the defaults
    decision = custom.apply(PolicyInput("card_testing", 0.6, "block_account", 0.995, True))
    assert decision.action == "block_account"


def test_a_bad_policy_file_is_refused_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[actions.block_account]\notherwise = "shrug"\n')
    with pytest.raises(ValueError, match="otherwise"):
        RiskPolicy.load(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        RiskPolicy.load(tmp_path / "missing.toml")


def test_a_flagged_answer_below_the_confidence_floor_goes_to_manual_review(
    policy: RiskPolicy,
) -> None:
    unsure = policy.apply(PolicyInput("none", 0.3, "monitor", 0.6, True))
    sure = policy.apply(PolicyInput("none", 0.8, "monitor", 0.6, True))
    assert unsure.action == "manual_review" and "confidence 0.30 < 0.5" in unsure.notes[0]
    assert sure.action == "monitor" and sure.notes == []
    off = RiskPolicy.model_validate({**policy.model_dump(), "min_confidence": 0.0})
    assert off.apply(PolicyInput("none", 0.3, "monitor", 0.6, True)).action == "monitor"


@pytest.mark.parametrize(
    ("fraud_type", "proposed", "expected"),
    [
        ("order_brushing", "hold_order", "manual_review"),
        ("account_takeover", "monitor", "step_up_auth"),
        ("refund_abuse", "allow", "manual_review"),
        ("payment_fraud", "hold_order", "hold_order"),
    ],
)
def test_an_action_outside_the_types_playbook_becomes_its_usual_one(
    policy: RiskPolicy, fraud_type: str, proposed: str, expected: str
) -> None:
    decision = policy.apply(
        PolicyInput(fraud_type, 0.9, proposed, 0.95, True)  # type: ignore[arg-type]
    )
    assert decision.action == expected
    if proposed != expected:
        assert f"not in the {fraud_type} playbook" in decision.notes[0]
    else:
        assert decision.notes == []


def test_the_playbook_runs_before_the_bounds(policy: RiskPolicy) -> None:
    # scraping_bot's usual action is block_account, which still needs the far tail.
    decision = policy.apply(PolicyInput("scraping_bot", 0.9, "hold_order", 0.95, True))
    assert decision.action == "manual_review"
    assert [note.split(":")[0] for note in decision.notes] == [
        "hold_order → block_account",
        "block_account → manual_review",
    ]


def test_the_playbook_names_every_fraud_type_with_actions(tmp_path: Path) -> None:
    policy = RiskPolicy.load()
    assert set(policy.playbook) == set(FRAUD_TYPES) - {"none"}
    path = tmp_path / "policy.toml"
    path.write_text("[playbook]\nnone = []\n")
    with pytest.raises(ValueError, match=r"playbook\.none"):
        RiskPolicy.load(path)


@pytest.mark.parametrize("version", ["verdict_v4", "verdict_v5"])
def test_the_prompt_names_each_types_usual_action(policy: RiskPolicy, version: str) -> None:
    # The prompt asks for "<type> (<its standard action>)": the same action the playbook keeps.
    system = (PROMPTS_DIR / f"{version}_system.md").read_text(encoding="utf-8")
    named = dict(re.findall(r"^- (\w+) \((\w+)[,)]", system, flags=re.MULTILINE))
    assert {k: v for k, v in named.items() if k != "none"} == {
        fraud_type: actions[0] for fraud_type, actions in policy.playbook.items()
    }


def test_a_fallback_proposes_its_own_action_and_no_confidence_floor_applies(
    policy: RiskPolicy,
) -> None:
    plain = policy.apply(PolicyInput.proposing(None, 0.7, True, []))
    refuted = policy.apply(PolicyInput.proposing(None, 0.7, True, [], fallback_action="monitor"))
    assert (plain.action, refuted.action) == ("manual_review", "monitor")
    assert refuted.notes == []  # confidence 0 is no model's: the low-confidence floor is skipped
    high = policy.apply(PolicyInput.proposing(None, 0.995, True, [], fallback_action="monitor"))
    assert high.action == "manual_review" and "0.995" in high.notes[0]
