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
    """As given, with `llm_base_url` pointing at the served model."""
    server: LocalModelServer | None = None
    """The local vLLM server; None for a configured endpoint (not ours to restart)."""

    def healthy(self) -> bool:
        """False when our local server's process has died (a configured endpoint: always True)."""
        return self.server is None or self.server.running()

    def restart(self) -> None:
        """Start our local server again on the same port; ModelServerDown when it cannot."""
        from agent.llm.server import ServerStartError

        if self.server is None:
            raise ModelServerDown(f"{self.settings.llm_base_url} is not answering", None)
        self.server.stop()
        try:
            self.server.start()
        except ServerStartError as error:
            raise ModelServerDown(
                f"the local model server died and did not restart: {error}", self.server.log_path
            ) from error


@contextmanager
def serve_model(settings: Settings, *, announce: bool = True) -> Iterator[ServedModel]:
    """The configured endpoint as it is; else the local model server for settings.llm_model,
    pulled on first use, started for the block and stopped after it."""
    if settings.llm_base_url is not None:
        yield ServedModel(settings)
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
        yield ServedModel(served, server)
