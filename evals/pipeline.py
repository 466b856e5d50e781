"""What an eval drives: the agent's investigator on a chat model, served locally when unset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from agent.investigator import Investigator
from agent.llm.client import OpenAIChatModel
from agent.llm.server import LocalModelServer
from agent.settings import Settings
from detectors.detector import LSTMDetector


@contextmanager
def open_pipeline(
    settings: Settings, detector: LSTMDetector, checkpoint_path: Path
) -> Iterator[Investigator]:
    """The investigator for this run; starts (and afterwards stops) the local vLLM server when
    `settings.llm_base_url` is unset. Checkpoints go to the run's own file, so a verdict
    stored by another run is never reused and an interrupted investigation carries on."""
    with ExitStack() as stack:
        base_url = settings.llm_base_url
        if base_url is None:
            base_url = stack.enter_context(LocalModelServer(settings)).base_url
        chat_model = OpenAIChatModel.from_settings(settings, base_url=base_url)
        yield Investigator(settings, chat_model, detector, checkpoint_path=checkpoint_path)
