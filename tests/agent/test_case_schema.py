"""A case's own answer schema (prompts with `case_schema`): only the types its events leave open,
an explanation opening on the type, and evidence of the kinds that type rests on."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xgrammar
from agent_doubles import (
    T0,
    FixedScreener,
    ScriptedChatModel,
    answer_json,
    card_testing_sequence,
    make_sequence,
)

from agent.case_schema import answerable_types, case_answer_schema, without_types
from agent.investigator import Investigator
from agent.prompting import VerdictPrompt
from agent.settings import Settings
from detectors.cases import FRAUD_TYPES, parse_case
from detectors.sequences import order_events

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def _answer(fraud_type: str, evidence: list[str], action: str = "manual_review") -> dict[str, Any]:
    return {
        "explanation": f"{fraud_type} ({action}): the facts (e1)",
        "evidence": evidence,
        "fraud_type": fraud_type,
        "confidence": 0.9,
        "action": action,
    }


def _valid(schema: dict[str, Any], answer: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(answer)


def test_a_card_tester_can_only_be_named_by_a_type_its_events_leave_open() -> None:
    events = card_testing_sequence().events  # a sign-up, then 6 declines on 6 cards
    types = answerable_types(events, shown_extras=["takeover"])
    assert "card_testing" in types
    assert "none" not in types  # the case shows card testing's whole pattern
    assert not {"refund_abuse", "fake_review", "click_fraud", "scraping_bot"} & set(types)
    schema = case_answer_schema(events, types, 240, 5)
    assert _valid(schema, _answer("card_testing", ["e1", "e2"]))
    assert not _valid(schema, _answer("card_testing", ["e0", "e1"]))  # first: a payment attempt
    assert not _valid(schema, _answer("card_testing", ["e1", "e9"]))  # no such event
    assert not _valid(schema, _answer("none", [], "allow"))
    assert not _valid(schema, _answer("refund_abuse", ["e1"]))
    mismatched = _answer("card_testing", ["e1"])
    mismatched["explanation"] = "payment_fraud (hold_order): e1"
    assert not _valid(schema, mismatched)  # the explanation opens with the type it names


def test_an_honest_browser_keeps_none_and_loses_the_types_its_events_refute() -> None:
    records = [{"ts": T0 + 60 * i, "action": "view", "item_id": f"i{i}"} for i in range(5)]
    records.append({"ts": T0 + 600, "action": "purchase", "item_id": "i4", "amount": 20.0})
    events = make_sequence(records).events
    types = answerable_types(events, extra=["browsing"])
    assert "none" in types
    assert "scraping_bot" not in types  # it bought
    assert "order_brushing" not in types  # it browsed before its one order
    schema = case_answer_schema(events, types, 240, 5)
    assert _valid(schema, _answer("none", ["e5"], "allow"))
    assert not _valid(schema, _answer("none", ["e6"], "allow"))
    too_long = {**_answer("none", [], "allow"), "explanation": "none (allow): " + "x" * 240}
    assert not _valid(schema, too_long)


def test_each_branch_lets_the_model_write_after_its_opening_when_matched_whole() -> None:
    """vLLM's grammar matches an explanation's pattern against the whole string, not anywhere in
    it as JSON Schema does: the opening alone would be the only explanation it lets through."""
    events = card_testing_sequence().events
    for branch in case_answer_schema(events, list(FRAUD_TYPES), 240, 5)["anyOf"]:
        pattern = branch["properties"]["explanation"]["pattern"]
        fraud_type = branch["properties"]["fraud_type"]["const"]
        assert re.fullmatch(pattern, f"{fraud_type} (monitor): 6 declines on 6 cards (e1-e6)")
        assert not re.fullmatch(pattern, f"{fraud_type} (monitor): ")  # the model says why
        assert not re.fullmatch(pattern, "other (monitor): 6 declines")


@pytest.mark.parametrize("name", ["sim_v1_test", "sim_v2_test"])
def test_every_case_can_be_given_its_true_type(name: str) -> None:
    """No rule of the schema shuts out the answer a case's label gives (both simulators)."""
    prompt = VerdictPrompt.load("verdict_v16")
    with gzip.open(DATASETS / f"{name}.jsonl.gz", "rt", encoding="utf-8") as lines:
        cases = [parse_case(json.loads(line)) for line in lines]
    for case in cases:
        events = order_events(case.events)
        branches = prompt.answer_schema(events)["anyOf"]
        assert case.fraud_type in [b["properties"]["fraud_type"]["const"] for b in branches]


def test_from_v16_the_model_is_sent_its_cases_own_schema(tmp_path: Path) -> None:
    chat = ScriptedChatModel([answer_json(explanation="card_testing (block_account): 6 declines")])
    settings = Settings(checkpoint_db=tmp_path / "c.sqlite", prompt_version="verdict_v16")
    investigator = Investigator(settings, chat, FixedScreener(0.95), retry_backoff_s=0.0)
    sequence = card_testing_sequence()
    verdict = asyncio.run(investigator.investigate("c1", sequence))

    assert verdict.fraud_type == "card_testing" and verdict.fallback_reason is None
    prompt = VerdictPrompt.load("verdict_v16")
    assert chat.schemas == [prompt.answer_schema(sequence.events)]
    assert chat.schemas[0] != VerdictPrompt.load("verdict_v14").answer_schema(sequence.events)


def test_v17_keeps_every_type_open_and_holds_only_the_evidence() -> None:
    events = card_testing_sequence().events
    schema = VerdictPrompt.load("verdict_v17").answer_schema(events)
    branches = {b["properties"]["fraud_type"]["const"]: b for b in schema["anyOf"]}
    assert set(branches) == set(FRAUD_TYPES)
    assert _valid(schema, _answer("none", ["e0"], "allow"))  # v16 closes `none` here
    assert _valid(schema, _answer("card_testing", ["e1", "e2"]))
    assert not _valid(schema, _answer("card_testing", ["e0"]))  # a sign-up is not its kind
    # no refund to cite: the answer can only come with no evidence, which its checks send back
    assert branches["refund_abuse"]["properties"]["evidence"] == {"type": "array", "maxItems": 0}


def test_from_v29_every_answer_may_cite_only_the_cases_own_ids() -> None:
    """v28's grammar let through an id one past the case's end (`e7` of a case ending at e6),
    which the grounding check then sent back; v29's cannot write it, first answer or retry."""
    events = card_testing_sequence().events  # e0 to e6
    last, past = f"e{len(events) - 1}", f"e{len(events)}"
    v28, v29 = VerdictPrompt.load("verdict_v28"), VerdictPrompt.load("verdict_v29")
    for refuted in ((), ("refund_abuse",)):  # the first answer, and the retry that closes a type
        held, loose = v29.answer_schema(events, refuted), v28.answer_schema(events, refuted)
        assert _valid(held, _answer("card_testing", ["e1", last]))
        assert not _valid(held, _answer("card_testing", ["e1", past]))
        assert _valid(loose, _answer("card_testing", ["e1", past]))  # v28 as recorded
    grammar = _compiler().compile_json_schema(json.dumps(v29.answer_schema(events)))
    opening = json.dumps({"explanation": "card_testing (block_account): 6 declines"})[:-1]
    assert xgrammar.GrammarMatcher(grammar).accept_string(f'{opening}, "evidence": ["{last}"')
    assert not xgrammar.GrammarMatcher(grammar).accept_string(f'{opening}, "evidence": ["{past}"')


def _compiler() -> xgrammar.GrammarCompiler:
    """xgrammar as vLLM runs it (its cache on), over a vocabulary of single characters."""
    vocab = [chr(code) for code in range(32, 127)] + ["★", "–", "…", "</s>"]
    tokenizer = xgrammar.TokenizerInfo(vocab, stop_token_ids=[len(vocab) - 1])
    return xgrammar.GrammarCompiler(tokenizer, max_threads=8, cache_enabled=True)


def test_xgrammar_as_vllm_runs_it_holds_the_closed_retry_to_its_length() -> None:
    """The engine compiles every schema with its first request's backend, xgrammar for a plain
    answer; xgrammar ignores a `maxLength` beside a pattern, and with its cache on (as vLLM runs
    it) fails on a bounded repetition over 128. The pattern carries the bound, in pieces."""
    compiler = _compiler()
    for limit in (120, 240, 480):
        grammar = compiler.compile_json_schema(
            json.dumps(without_types([], {"scraping_bot"}, limit, 5)), any_whitespace=True
        )
        opening = "none (allow): 5★ reviews of e1–e3 … "
        assert _starts(grammar, opening + "x" * (limit - len(opening) - 25))
        assert not _starts(grammar, opening + "x" * (limit - len(opening)))
        assert not _starts(grammar, "scraping_bot (block_account): 60 views in 5 minutes")


def _starts(grammar: xgrammar.CompiledGrammar, explanation: str) -> bool:
    """Whether `grammar` lets an answer open with `explanation` (and an `evidence` key)."""
    start = json.dumps({"explanation": explanation, "evidence": []}, ensure_ascii=False)
    return bool(xgrammar.GrammarMatcher(grammar).accept_string(start[:-1]))
