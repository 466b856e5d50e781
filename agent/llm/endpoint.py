"""The one place that turns settings into a served model: the configured endpoint, or a local
vLLM server started for the block and watched while it is in use."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.llm.probe import ServerSpeed
    from agent.llm.server import LocalModelServer
    from agent.settings import Settings


class ModelServerDown(RuntimeError):
    """The local model server died and could not be brought back; names its log file."""

    def __init__(self, message: str, log_path: Path | None) -> None:
        super().__init__(message if log_path is None else f"{message}; see {log_path}")
        self.log_path = log_path


@dataclass
class ServedModel:
    """Settings whose `llm_base_url` answers, and the local server behind it when we own one."""

    settings: Settings
    """As given, with `llm_base_url` pointing at the served model and, where the start-up probe
    measured them, its speeds and (unless set) the concurrency chosen from them."""
    server: LocalModelServer | None = None
    """The local vLLM server; None for a configured endpoint (not ours to restart)."""
    speed: ServerSpeed | None = None
    """What the start-up probe measured; None when it failed or was not run."""

    @property
    def log_path(self) -> Path | None:
        """Our local server's log file; None for a configured endpoint."""
        return self.server.log_path if self.server is not None else None

    def healthy(self) -> bool:
        """False once our local server's process died or its engine reports itself dead on
        `/health` (a configured endpoint: always True)."""
        return self.server is None or self.server.healthy()

    def restart(self) -> None:
        """Start our local server again on the same port; ModelServerDown when it cannot."""
        from agent.llm.server import ServerStartError

        if self.server is None:
            raise ModelServerDown(f"{self.settings.llm_base_url} is not answering", None)
        print(f"the model server died; restarting it (log {self.server.log_path})", file=sys.stderr)
        self.server.stop()
        try:
            self.server.start()
        except ServerStartError as error:
            raise ModelServerDown(
                f"the local model server died and did not restart: {error}", self.server.log_path
            ) from error


@contextmanager
def serve_model(
    settings: Settings, *, announce: bool = True, probe_endpoint: bool = False
) -> Iterator[ServedModel]:
    """The configured endpoint as it is; else the local model server for settings.llm_model,
    pulled on first use, started for the block and stopped after it. One short request
    measures the local server's speed (agent.llm.probe); a configured endpoint's only with
    `probe_endpoint` (it is not ours to load)."""
    if settings.llm_base_url is not None:
        yield _measured(ServedModel(settings), probe_endpoint)
        return
    from agent.llm.server import LocalModelServer

    if announce:
        print(
            f"starting the local model server for {settings.llm_model} "
            "(FRAUDLENS_LLM_BASE_URL is unset; the first run pulls the weights)…",
            file=sys.stderr,
        )
    with LocalModelServer(settings) as server:
        served = settings.model_copy(update={"llm_base_url": server.base_url})
        yield _measured(ServedModel(served, server), probe=True)


def _measured(served: ServedModel, probe: bool) -> ServedModel:
    """`served` with the probe's speeds in its settings, and the concurrency they imply unless
    the settings name one; unchanged (with a warning) when the probe fails."""
    from agent.llm.probe import ProbeError, ServerSpeed, probe_speed

    settings = served.settings
    if settings.llm_prefill_tok_s and settings.llm_decode_tok_s:  # measured by hand
        speed = ServerSpeed(settings.llm_prefill_tok_s, settings.llm_decode_tok_s)
        return ServedModel(settings, served.server, speed)
    if not probe or settings.llm_base_url is None:
        return served
    try:
        speed = probe_speed(
            settings.llm_base_url, settings.llm_model, settings.llm_api_key.get_secret_value()
        )
    except ProbeError as error:
        print(f"warning: {error}; fixed timeouts ({settings.llm_timeout_s:g} s)", file=sys.stderr)
        return served
    _warm_grammar(settings)
    update: dict[str, object] = {
        "llm_prefill_tok_s": speed.prefill_tok_s,
        "llm_decode_tok_s": speed.decode_tok_s,
    }
    if "concurrency" not in settings.model_fields_set:
        update["concurrency"] = speed.concurrency(
            settings.llm_typical_prompt_tokens, settings.llm_typical_answer_tokens
        )
    measured = settings.model_copy(update=update)
    prompt, answer = settings.llm_typical_prompt_tokens, settings.llm_typical_answer_tokens
    per_case = speed.seconds_per_case(prompt, answer, measured.concurrency)
    print(
        f"{settings.llm_model}: {speed.describe()}; {measured.concurrency} cases at once, about "
        f"{per_case:.0f} s a case of {prompt} prompt and {answer} answer tokens",
        file=sys.stderr,
    )
    return ServedModel(measured, served.server, speed)


def _warm_grammar(settings: Settings) -> None:
    """Have the server compile the answer grammar of the settings' prompt before the cases
    arrive."""
    from agent.llm.probe import ProbeError, warm_answer_grammar
    from agent.prompting import VerdictPrompt

    assert settings.llm_base_url is not None
    api_key = settings.llm_api_key.get_secret_value()
    try:
        seconds = warm_answer_grammar(
            settings.llm_base_url,
            settings.llm_model,
            api_key,
            VerdictPrompt.load(settings.prompt_version).answer_schema([]),
        )
    except ProbeError as error:
        print(f"warning: {error}", file=sys.stderr)
        return
    print(f"{settings.llm_model}: answer grammar ready in {seconds:.0f} s", file=sys.stderr)
