"""Shared fixtures: the real local model server for `@pytest.mark.llm` tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.llm.probe import ServerSpeed, probe_speed
from agent.llm.server import LocalModelServer, find_free_port
from agent.settings import get_settings

LOCAL_TEST_MODEL = "smollm2-135m"
"""The smallest registry model: enough for plumbing (valid JSON under a schema), not judgement."""


@pytest.fixture(scope="session")
def local_llm() -> Iterator[LocalModelServer]:
    """A real vLLM server on a free port serving `smollm2-135m`, shared by the whole session.

    Use `.base_url` (`http://127.0.0.1:PORT/v1`) and `.model`. Do not stop it: later tests share
    it. A test that needs an unreachable server uses `unreachable_llm_url` instead.
    """
    with LocalModelServer(get_settings(), model=LOCAL_TEST_MODEL, port=0) as server:
        yield server


@pytest.fixture(scope="session")
def local_llm_speed(local_llm: LocalModelServer) -> ServerSpeed:
    """The shared server's measured speed. Settings given it (llm_prefill_tok_s,
    llm_decode_tok_s) time each call from its size and this machine's load, as `serve_model`
    does: a fixed 180 s let verdicts fall back on a loaded 2-core CI machine."""
    return probe_speed(local_llm.base_url, local_llm.model, "EMPTY")


@pytest.fixture
def unreachable_llm_url() -> str:
    """An OpenAI-style base URL on a local port where nothing listens."""
    return f"http://127.0.0.1:{find_free_port('127.0.0.1')}/v1"
