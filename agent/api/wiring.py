"""Building the service from settings: store, detector, chat model, investigator, checkpointer."""

from __future__ import annotations

from contextlib import AsyncExitStack

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.api.alerts import AlertService
from agent.api.cases import CaseService, replay_labels
from agent.api.chat_service import CaseChat
from agent.api.metrics import ApiMetrics
from agent.api.screening import ScreeningService
from agent.api.service import ApiService
from agent.api.store import Store
from agent.case_chat.graph import ChatPrompt
from agent.case_chat.tools import ReferenceFinder
from agent.context import Screener
from agent.investigator import Investigator
from agent.llm.client import ChatModel
from agent.llm.streaming import StreamingOpenAIChatModel
from agent.settings import Settings
from detectors.detector import load_detector


async def assemble_service(
    settings: Settings,
    metrics: ApiMetrics,
    detector: Screener,
    investigator: Investigator,
    model: ChatModel,
    references: ReferenceFinder | None = None,
) -> ApiService:
    """The service over given parts; the checkpointer and store close with it."""
    store = Store(settings.db_path)
    stack = AsyncExitStack()
    checkpointer = await stack.enter_async_context(
        AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_db))
    )
    replay_labels(store, investigator.learn)
    screening = ScreeningService(settings, detector)
    chat = CaseChat(
        store,
        model,
        screening.score,
        checkpointer,
        metrics,
        settings.chat_max_tokens,
        ChatPrompt.load(settings.chat_prompt_version),
        references,
    )
    return ApiService(
        settings=settings,
        store=store,
        metrics=metrics,
        screening=screening,
        alerts=AlertService(settings, store, screening, investigator, metrics),
        cases=CaseService(store, chat, investigator.learn),
        chat=chat,
        investigator=investigator,
        on_close=stack.aclose,
    )


async def build_default_service(settings: Settings, metrics: ApiMetrics) -> ApiService:
    """The production wiring: the configured (or bundled) detector, the OpenAI-compatible
    model server at settings.llm_base_url, and the agent's Investigator over both."""
    detector = load_detector(settings.detector_dir)
    model = StreamingOpenAIChatModel.from_settings(settings)
    investigator = Investigator(settings, model, detector)
    return await assemble_service(
        settings, metrics, detector, investigator, model, investigator.similar_cases
    )
