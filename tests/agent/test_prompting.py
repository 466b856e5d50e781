"""Versioned prompt files, the few-shot library and the choice of similar cases."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from agent_doubles import card_testing_sequence, make_sequence, sequence_score

from agent.fewshot import FewShotLibrary, library_path
from agent.prompting import FewShotExample, PromptNotFoundError, VerdictPrompt
from agent.render import render_case
from agent.verdict import FraudType, RiskAction
from detectors.cases import FRAUD_TYPES, RISK_ACTIONS


@pytest.fixture(scope="module")
def prompt() -> VerdictPrompt:
    return VerdictPrompt.load("verdict_v1")


@pytest.fixture(scope="module")
def library() -> FewShotLibrary:
    return FewShotLibrary.load(library_path("verdict_v1"))


def test_the_verdict_types_match_the_taxonomy() -> None:
    assert get_args(FraudType) == FRAUD_TYPES
    assert get_args(RiskAction) == RISK_ACTIONS


def test_the_system_prompt_defines_every_type_and_action(prompt: VerdictPrompt) -> None:
    for name in (*FRAUD_TYPES, *RISK_ACTIONS):
        assert f"- `{name}`:" in prompt.system, f"{name} is not defined in the prompt"


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
