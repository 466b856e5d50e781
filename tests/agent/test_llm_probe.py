"""What follows from a server's measured speed: concurrency, per-call timeouts, ETA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_openai_server import fake_openai_server

from agent.llm.client import ChatMessage, OpenAIChatModel
from agent.llm.endpoint import serve_model
from agent.llm.probe import MAX_CONCURRENCY, MIN_CALL_TIMEOUT_S, ProbeError, ServerSpeed
from agent.prompting import VerdictPrompt
from agent.settings import Settings

SLOW_CPU = ServerSpeed(prefill_tok_s=30.0, decode_tok_s=4.0)


def test_a_server_that_decodes_in_a_fraction_of_its_prefill_runs_two_at_once() -> None:
    # 3,000 tokens take 100 s to prefill; 40 answer tokens decode in 10 s, a tenth of it.
    assert SLOW_CPU.concurrency(3000, 40) == 2


def test_more_answers_decode_together_the_longer_they_take_up_to_a_cap() -> None:
    # 50 s of prefill, 25 s of decoding alone: 5 at once leave 5 s of decoding per case.
    assert SLOW_CPU.concurrency(1500, 100) == 5
    assert ServerSpeed(prefill_tok_s=100.0, decode_tok_s=4.0).concurrency(1500, 150) == (
        MAX_CONCURRENCY
    )


def test_call_timeout_grows_with_prompt_and_concurrency_never_below_the_floor() -> None:
    alone = SLOW_CPU.call_timeout_s(3000, 384, workers=1)
    assert alone == 3.0 * (3000 / 30 + 384 / 4)
    assert SLOW_CPU.call_timeout_s(3000, 384, workers=3) > alone
    assert SLOW_CPU.call_timeout_s(6000, 384, workers=1) > alone
    assert ServerSpeed(10_000.0, 1_000.0).call_timeout_s(100, 10, 1) == MIN_CALL_TIMEOUT_S


def test_server_time_per_case_shares_decoding_between_workers() -> None:
    assert SLOW_CPU.seconds_per_case(1500, 100, workers=1) == 50 + 25
    assert SLOW_CPU.seconds_per_case(1500, 100, workers=5) == 50 + 5


def test_client_sizes_each_call_from_measured_speeds() -> None:
    settings = Settings(
        llm_base_url="http://x/v1", llm_prefill_tok_s=30.0, llm_decode_tok_s=4.0, concurrency=2
    )
    chat = OpenAIChatModel.from_settings(settings)
    short: list[ChatMessage] = [{"role": "user", "content": "x" * 300}]
    long: list[ChatMessage] = [{"role": "user", "content": "x" * 30_000}]
    assert chat.call_timeout_s(long, None) > chat.call_timeout_s(short, None)
    assert chat.call_timeout_s(long, None) == SLOW_CPU.call_timeout_s(10_000, 384, 2)


def test_a_timeout_setting_wins_over_measured_speeds() -> None:
    settings = Settings(
        llm_base_url="http://x/v1", llm_prefill_tok_s=30.0, llm_decode_tok_s=4.0, llm_timeout_s=42
    )
    chat = OpenAIChatModel.from_settings(settings)
    assert chat.call_timeout_s([{"role": "user", "content": "x" * 30_000}], None) == 42


def test_without_measured_speeds_the_timeout_is_the_setting() -> None:
    chat = OpenAIChatModel.from_settings(Settings(llm_base_url="http://x/v1"))
    assert chat.call_timeout_s([{"role": "user", "content": "x"}], None) == 180.0


def _probe_answers(speed: ServerSpeed | Exception) -> Callable[..., ServerSpeed]:
    def probe(*args: object, **kwargs: object) -> ServerSpeed:
        if isinstance(speed, Exception):
            raise speed
        return speed

    return probe


def test_served_settings_carry_the_probe_and_the_concurrency_it_implies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("agent.llm.probe.probe_speed", _probe_answers(ServerSpeed(100.0, 4.0)))
    with serve_model(Settings(llm_base_url="http://x/v1"), probe_endpoint=True) as served:
        assert served.speed == ServerSpeed(100.0, 4.0)
        assert (served.settings.llm_prefill_tok_s, served.settings.llm_decode_tok_s) == (100, 4)
        assert served.settings.concurrency == MAX_CONCURRENCY  # 15 s prefill, 37.5 s decode
    with serve_model(
        Settings(llm_base_url="http://x/v1", concurrency=3), probe_endpoint=True
    ) as served:
        assert served.settings.concurrency == 3  # named in the settings: kept


def test_a_failed_probe_keeps_fixed_timeouts_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("agent.llm.probe.probe_speed", _probe_answers(ProbeError("HTTP 404")))
    with serve_model(Settings(llm_base_url="http://x/v1"), probe_endpoint=True) as served:
        assert served.speed is None and served.settings.llm_prefill_tok_s is None
    assert "warning: HTTP 404; fixed timeouts (180 s)" in capsys.readouterr().err


def test_a_configured_endpoint_is_not_probed_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.llm.probe.probe_speed", _probe_answers(AssertionError("probed")))
    with serve_model(Settings(llm_base_url="http://x/v1")) as served:
        assert served.speed is None


def test_eta_follows_the_runs_own_pace_after_two_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent import investigator

    clock = iter([0.0, 120.0])
    monkeypatch.setattr(investigator.time, "perf_counter", lambda: next(clock))
    eta = investigator._Eta(total=10, seconds_per_case=30.0)
    assert eta.remaining(0) == "5 min"  # 10 cases × 30 s from the measured speed
    assert eta.remaining(1) == "4 min"  # one done: still the estimate
    assert eta.remaining(2) == "8 min"  # two done in 120 s: 8 left × 60 s


def test_the_probe_keeps_the_best_of_its_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.llm import probe

    rounds = iter([ServerSpeed(5.0, 3.1), ServerSpeed(280.0, 2.9)])  # a cold first request
    monkeypatch.setattr(probe, "_probe_once", lambda *args: next(rounds))
    assert probe.probe_speed("http://x/v1", "m", "k") == ServerSpeed(280.0, 3.1)


def test_the_answer_grammar_is_compiled_once_before_the_cases(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("agent.llm.probe.probe_speed", _probe_answers(ServerSpeed(100.0, 4.0)))
    with (
        fake_openai_server(lambda request: "{") as (url, requests),
        serve_model(Settings(llm_base_url=url), probe_endpoint=True),
    ):
        pass
    assert len(requests) == 1 and requests[0]["max_tokens"] == 1
    prompt = VerdictPrompt.load(Settings().prompt_version)
    assert requests[0]["response_format"]["json_schema"]["schema"] == prompt.answer_schema([])
    assert "answer grammar ready in" in capsys.readouterr().err
