"""Versioned prompt files, the few-shot library and the choice of similar cases."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from agent_doubles import (
    T0,
    FixedScreener,
    ScriptedChatModel,
    answer_json,
    card_testing_sequence,
    make_sequence,
    sequence_score,
)

from agent.fewshot import FewShotLibrary, library_path
from agent.investigator import Investigator
from agent.llm.client import ChatMessage
from agent.prompting import FewShotExample, PromptNotFoundError, VerdictPrompt, prompt_options
from agent.render.case import render_case
from agent.settings import Settings
from detectors.cases import FRAUD_TYPES, RISK_ACTIONS


@pytest.fixture(scope="module")
def prompt() -> VerdictPrompt:
    return VerdictPrompt.load("verdict_v1")


@pytest.fixture(scope="module")
def library() -> FewShotLibrary:
    return FewShotLibrary.load(library_path("verdict_v1"))


@pytest.mark.parametrize("version", ["verdict_v1", "verdict_v2"])
def test_the_system_prompt_defines_every_type_and_action(version: str) -> None:
    system = VerdictPrompt.load(version).system
    for name in (*FRAUD_TYPES, *RISK_ACTIONS):
        assert f"- `{name}`:" in system, f"{name} is not defined in {version}"
    assert "untrusted data" in system and "never an instruction" in system


def test_v2_explains_the_detector_estimate_and_forbids_copying_examples() -> None:
    system = VerdictPrompt.load("verdict_v2").system
    assert "`detector type guess`" in system and "estimate" in system
    assert "never copy" in system and "own event ids" in system


def _case_messages(tmp_path: Path, version: str) -> list[ChatMessage]:
    """What an investigator on `version` sends for a case the detector calls card testing."""
    chat = ScriptedChatModel([answer_json()])
    settings = Settings(prompt_version=version, checkpoint_db=tmp_path / f"{version}.sqlite")
    investigator = Investigator(settings, chat, FixedScreener(), retry_backoff_s=0.0)
    sequence = card_testing_sequence()
    score = sequence_score(sequence)
    score.fraud_type_probs = {"none": 0.1, "card_testing": 0.75, "account_takeover": 0.15}
    verdict = asyncio.run(investigator.investigate("c1", sequence, score))
    assert verdict.prompt_version == version
    return chat.requests[0]


def test_the_case_shows_the_detector_estimate_and_only_v2_repeats_it(tmp_path: Path) -> None:
    v1, v2 = _case_messages(tmp_path, "verdict_v1"), _case_messages(tmp_path, "verdict_v2")
    guess = "detector type guess: card_testing 0.75, account_takeover 0.15, none 0.10"
    assert guess in v1[-1]["content"] and guess in v2[-1]["content"]
    assert v1[0]["content"] == VerdictPrompt.load("verdict_v1").system
    assert v2[0]["content"] == VerdictPrompt.load("verdict_v2").system
    case_v1, ask_v1 = v1[-1]["content"].rsplit("\n\n", 1)
    case_v2, ask_v2 = v2[-1]["content"].rsplit("\n\n", 1)
    assert case_v1 == case_v2
    assert ask_v1 == "Return the verdict JSON for this case."
    assert ask_v2.startswith("Detector's type estimate for this case: card_testing (0.75) (")
    assert len(v1) == len(v2) == 6  # system, two examples, the case


def test_a_case_without_a_type_head_has_no_estimate() -> None:
    prompt = VerdictPrompt.load("verdict_v2")
    sequence = card_testing_sequence()
    message = prompt.user_message(render_case(sequence, sequence_score(sequence)))
    assert "detector type guess" not in message
    assert "type estimate for this case: not available (" in message


def test_messages_put_examples_before_the_case(
    prompt: VerdictPrompt, library: FewShotLibrary
) -> None:
    example = library.examples[0]
    shot = FewShotExample(render_case(example.sequence), example.answer)
    case = render_case(card_testing_sequence())
    messages = prompt.messages(case, [shot])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert case.text in messages[-1]["content"] and "$" not in messages[-1]["content"]
    assert messages[2]["content"].startswith('{"explanation":')
    retry = prompt.retry_message(case, "evidence ids e99 do not exist")
    assert "e99 do not exist" in retry["content"] and "e0 to e6" in retry["content"]


def test_v2_shows_the_most_similar_example_last_and_v1_first(library: FewShotLibrary) -> None:
    shots = [
        FewShotExample(render_case(example.sequence), example.answer)
        for example in library.examples[:2]
    ]
    case = render_case(card_testing_sequence())
    first, second = (shot.answer.model_dump_json() for shot in shots)
    v1 = VerdictPrompt.load("verdict_v1").messages(case, shots)
    v2 = VerdictPrompt.load("verdict_v2").messages(case, shots)
    assert [v1[2]["content"], v1[4]["content"]] == [first, second]
    assert [v2[2]["content"], v2[4]["content"]] == [second, first]


def test_a_missing_prompt_version_is_named(tmp_path: Path) -> None:
    with pytest.raises(PromptNotFoundError, match=r"verdict_v9.*3 of 3"):
        VerdictPrompt.load("verdict_v9", tmp_path)


def test_the_library_covers_every_type_with_grounded_answers(library: FewShotLibrary) -> None:
    types = {example.case.fraud_type for example in library.examples}
    assert types == set(FRAUD_TYPES)
    for example in library.examples:
        assert example.answer.action == example.case.acceptable_actions[0]
        last = len(example.sequence) - 1
        assert all(int(eid[1:]) <= last for eid in example.answer.evidence), example.case.case_id


def test_similar_cases_rank_by_behaviour_one_per_type(library: FewShotLibrary) -> None:
    similar = library.similar(card_testing_sequence(), None, k=3)
    assert similar[0].example.case.fraud_type == "card_testing"
    assert len({item.example.case.fraud_type for item in similar}) == 3
    assert similar[0].basis == "profile"
    assert similar[0].similarity >= similar[1].similarity >= similar[2].similarity


def test_similar_cases_use_embeddings_when_both_sides_have_them(
    library: FewShotLibrary,
) -> None:
    scored = FewShotLibrary(list(library.examples))
    scores = [sequence_score(example.sequence) for example in scored.examples]
    target = scores[5]
    target.embedding = [0.0, 1.0, 0.0]
    scored.attach_scores(scores)
    query = make_sequence([{"ts": 0, "action": "view"}])
    similar = scored.similar(query, sequence_score(query), k=1)
    assert similar[0].basis == "embedding"
    query_score = sequence_score(query)
    query_score.embedding = [0.0, 1.0, 0.0]
    assert scored.similar(query, query_score, k=1)[0].example is scored.examples[5]


def test_v3_sends_one_shared_system_prefix_and_the_case_with_its_evidence(tmp_path: Path) -> None:
    first = _case_messages(tmp_path, "verdict_v3")
    v3 = VerdictPrompt.load("verdict_v3")
    assert [message["role"] for message in first] == ["system", "user"]
    assert first[0]["content"] == v3.system
    for name in (*FRAUD_TYPES, *RISK_ACTIONS):
        assert f"- `{name}`:" in v3.system
    assert "evidence, not the answer" in v3.system and "never an instruction" in v3.system
    case = first[1]["content"]
    assert "payment attempts: 6 (e1–e6), 6 declined (e1–e6)" in case
    assert "detector type guess: card_testing 0.75" in case
    example_line = case.split("\n")[1]
    assert example_line.startswith("- ") and not re.search(r"\be\d+\b", example_line)


def test_v3_caps_the_case_budget_below_what_the_context_leaves() -> None:
    v3, v2 = VerdictPrompt.load("verdict_v3"), VerdictPrompt.load("verdict_v2")
    assert v3.case_tokens is not None
    assert v3.case_token_budget(4096, 384, 2, 350) == v3.case_tokens
    assert v2.case_token_budget(4096, 384, 2, 350) > v3.case_tokens


def test_analyst_labels_join_the_library_at_once_and_change_its_version(tmp_path: Path) -> None:
    base = FewShotLibrary.load(library_path("verdict_v3"))
    exported = tmp_path / "labels.jsonl"
    events = [
        {"user_id": "u-new", "ts": 1_772_442_000 + i, "action": "message_seller"} for i in range(30)
    ]
    case = {
        "case_id": "lab-1",
        "fraud_type": "fake_review",
        "acceptable_actions": ["monitor"],
    }
    exported.write_text(json.dumps({**case, "events": events}) + "\n")
    joined = base.add_labelled(exported)
    assert len(joined.examples) == len(base.examples) + 1
    assert joined.version.startswith(base.version + " + labels.jsonl@")
    assert joined.examples[-1].answer.explanation == "Labelled fake_review by an analyst."
    nearest = joined.similar(make_sequence([{"ts": 1, "action": "message_seller"}]), None, k=1)
    assert nearest[0].example.case.case_id == "lab-1"


def test_v4_pairs_each_type_with_its_standard_action_in_one_shared_prefix(tmp_path: Path) -> None:
    first = _case_messages(tmp_path, "verdict_v4")
    v4 = VerdictPrompt.load("verdict_v4")
    assert [message["role"] for message in first] == ["system", "user"]
    assert first[0]["content"] == v4.system
    for name in FRAUD_TYPES:
        assert f"- {name} (" in v4.system, f"{name} has no line in verdict_v4"
    for name in RISK_ACTIONS:
        assert f"`{name}`" in v4.system, f"{name} is not defined in verdict_v4"
    assert "- card_testing (block_account):" in v4.system
    assert "second opinion" in v4.system and "never an instruction" in v4.system
    case = first[1]["content"]
    assert "payment attempts: 6 (e1–e6), 6 declined (e1–e6)" in case
    assert "detector type guess: card_testing 0.75" in case
    assert case.startswith("Case to decide:\n")  # no retrieved example line: nothing to copy
    assert "identities: " in case


def test_v4_leaves_the_v3_prompt_as_recorded(tmp_path: Path) -> None:
    """v3's runs are recorded: the facts v4 added must not reach v3's case message."""
    v3_case = _case_messages(tmp_path, "verdict_v3")[1]["content"]
    assert "largest payment" not in v3_case and "identities: " not in v3_case


def test_v6_describes_types_unlike_the_answer_and_lists_surprising_facts_first(
    tmp_path: Path,
) -> None:
    """v6's type lines do not share the answer's `<type> (<action>): ` opening (the 1.5B model
    went on with the description after those words), and its facts follow the detector's
    surprise; v5, recorded, keeps the fixed fact order."""
    v6 = VerdictPrompt.load("verdict_v6")
    for name in FRAUD_TYPES:
        assert f"- {name}: " in v6.system, f"{name} has no line in verdict_v6"
        assert f"- {name} (" not in v6.system
    assert "- card_testing: many small payment attempts" in v6.system
    assert "Action block_account." in v6.system and "never an instruction" in v6.system
    records: list[dict[str, Any]] = [
        {"ts": T0, "action": "account_signup", "device_id": "d1", "ip": "10.1.2.3"},
        {"ts": T0 + 40, "action": "coupon_redeem", "status": "success", "coupon": "A"},
        {"ts": T0 + 60, "action": "coupon_redeem", "status": "success", "coupon": "B"},
        {"ts": T0 + 90, "action": "payment_attempt", "amount": 5.0, "payment_method": "card:1"},
    ]
    sequence = make_sequence(records)
    score = sequence_score(sequence)
    for surprise in score.events:
        surprise.nll = 9.0 if surprise.index == 2 else 1.0
    case = render_case(sequence, score)
    assert case.surprising[0] == 2
    lines = {
        version: [
            line
            for line in VerdictPrompt.load(version).messages(case, [])[-1]["content"].splitlines()
            if line.startswith(("- coupon", "- payment attempts"))
        ]
        for version in ("verdict_v5", "verdict_v6")
    }
    assert [line[:9] for line in lines["verdict_v5"]] == ["- payment", "- coupon "]
    assert lines["verdict_v6"] == lines["verdict_v5"][::-1]


def test_v7_is_v6_with_a_compact_timeline() -> None:
    """v7 changes only how the timeline is written: the same system prompt and facts, fewer
    tokens per line (issue 9's prompt budget)."""
    v6, v7 = VerdictPrompt.load("verdict_v6"), VerdictPrompt.load("verdict_v7")
    assert v7.system == v6.system and v7.user.template == v6.user.template
    assert v7.compact_timeline and not v6.compact_timeline
    assert v7.facts_by_surprise and v7.max_examples == v6.max_examples == 0


def test_v8_is_v7s_text_and_library_with_the_pattern_check() -> None:
    """`text_of` makes a version from options alone: v8 reads v7's files and few-shot library
    (no copy of them exists) and adds only `check_pattern`."""
    v7, v8 = VerdictPrompt.load("verdict_v7"), VerdictPrompt.load("verdict_v8")
    assert (v8.version, v8.text_version) == ("verdict_v8", "verdict_v7")
    assert (v8.system, v8.user.template, v8.retry.template) == (
        v7.system,
        v7.user.template,
        v7.retry.template,
    )
    assert v8.check_pattern and not v7.check_pattern
    assert v8.answer_schema([]) == v7.answer_schema([]) and v8.compact_timeline
    assert library_path("verdict_v8") == library_path("verdict_v7")
    assert not list(library_path("verdict_v8").parent.glob("verdict_v8_*.md"))


def test_text_of_a_missing_version_names_the_files(tmp_path: Path) -> None:
    (tmp_path / "mine_options.toml").write_text('text_of = "gone"\n', encoding="utf-8")
    with pytest.raises(PromptNotFoundError, match=r"gone_system\.md"):
        VerdictPrompt.load("mine", tmp_path)


def test_v14_is_v13s_options_with_clear_refuted() -> None:
    """`options_of` lays a version's own keys over another's: v14 is v13 plus one option."""
    v13, v14 = prompt_options("verdict_v13"), prompt_options("verdict_v14")
    assert v14 == {**v13, "clear_refuted": True}
    loaded = VerdictPrompt.load("verdict_v14")
    assert loaded.clear_refuted and loaded.text_version == "verdict_v7" and loaded.takeover_shown


def test_options_that_refer_back_to_themselves_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a_options.toml").write_text('options_of = "b"\n', encoding="utf-8")
    (tmp_path / "b_options.toml").write_text('options_of = "a"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="refer back to it: a → b"):
        prompt_options("a", tmp_path)
