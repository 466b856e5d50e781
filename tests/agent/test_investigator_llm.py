"""The investigation graph against the real local model (smollm2-135m on vLLM): plumbing, not
judgement. Cases come from the committed simulator test split."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_doubles import FixedScreener

from agent.investigator import Investigator
from agent.llm.client import OpenAIChatModel
from agent.llm.probe import ServerSpeed
from agent.llm.server import LocalModelServer
from agent.policy import PolicyInput, RiskPolicy
from agent.settings import Settings
from agent.verdict import Verdict
from detectors.cases import Case
from detectors.loading import read_cases
from detectors.sequences import Sequence, order_events

TEST_SPLIT = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "sim_v1_test.jsonl.gz"
pytestmark = pytest.mark.llm


def pick_cases() -> list[Case]:
    """One prompt-injection case and two fraud cases of other types, the shortest of each."""
    cases, _ = read_cases(TEST_SPLIT)
    by_length = sorted(cases, key=lambda case: (len(case.events), case.case_id))
    injection = next(c for c in by_length if "prompt_injection" in c.extra.get("tags", []))
    chosen = [injection]
    for fraud_type in ("card_testing", "account_takeover"):
        chosen.append(next(c for c in by_length if c.fraud_type == fraud_type))
    return chosen


def sequence_of(case: Case) -> Sequence:
    return Sequence(case.events[0].user_id, order_events(case.events))


def investigate_all(investigator: Investigator, cases: list[Case]) -> list[Verdict]:
    async def run() -> list[Verdict]:
        jobs = [investigator.investigate(case.case_id, sequence_of(case)) for case in cases]
        return list(await asyncio.gather(*jobs))

    return asyncio.run(run())


def make_investigator(
    base_url: str, model: str, tmp_path: Path, score: float, speed: ServerSpeed | None = None
) -> Investigator:
    settings = Settings(
        llm_base_url=base_url,
        llm_model=model,
        llm_max_retries=1,
        checkpoint_db=tmp_path / "checkpoints.sqlite",
        llm_prefill_tok_s=speed.prefill_tok_s if speed else None,
        llm_decode_tok_s=speed.decode_tok_s if speed else None,
    )
    chat = OpenAIChatModel.from_settings(settings)
    # A fixed screener flags every case (score 0.7 < the policy's high score of 0.9), so what
    # keeps an injection case away from allow/monitor is the injection guard itself.
    return Investigator(settings, chat, FixedScreener(score=score), retry_backoff_s=0.5)


def test_flagged_cases_get_valid_grounded_policed_verdicts(
    local_llm: LocalModelServer, local_llm_speed: ServerSpeed, tmp_path: Path
) -> None:
    cases = pick_cases()
    investigator = make_investigator(
        local_llm.base_url, local_llm.model, tmp_path, score=0.7, speed=local_llm_speed
    )
    verdicts = investigate_all(investigator, cases)
    policy = RiskPolicy.load()
    default_prompt = Settings().prompt_version

    assert [verdict.case_id for verdict in verdicts] == [case.case_id for case in cases]
    for case, verdict in zip(cases, verdicts, strict=True):
        assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict
        assert verdict.model == local_llm.model and verdict.prompt_version == default_prompt
        assert all(int(eid[1:]) < len(sequence_of(case)) for eid in verdict.evidence)
        assert verdict.llm_calls >= 1 and verdict.prompt_tokens > 0
        if verdict.proposed_action is None:  # the fallback: never dropped, never allowed
            assert verdict.action == "manual_review" and verdict.fallback_reason
            continue
        rendered = investigator.render_case(sequence_of(case))
        expected = policy.apply(
            PolicyInput(
                verdict.fraud_type,
                verdict.confidence,
                verdict.proposed_action,
                verdict.detector_score,
                verdict.flagged,
                rendered.instruction_like,
            )
        )
        assert (verdict.action, verdict.policy_notes) == (expected.action, expected.notes)
    injection = verdicts[0]
    assert injection.action not in ("allow", "monitor")
    assert investigator.render_case(sequence_of(cases[0])).instruction_like


def test_a_model_server_that_is_down_gives_fallbacks(
    unreachable_llm_url: str, tmp_path: Path
) -> None:
    cases = pick_cases()[:2]
    investigator = make_investigator(unreachable_llm_url, "smollm2-135m", tmp_path, score=0.95)
    verdicts = investigate_all(investigator, cases)
    assert len(verdicts) == len(cases)
    for verdict in verdicts:
        assert verdict.action == "manual_review" and verdict.proposed_action is None
        assert verdict.fallback_reason and "cannot reach" in verdict.fallback_reason
        assert verdict.llm_calls == 2  # one try, one retry
