"""Case conversations for the routes: the analyst's thread (persisted) and the stateless
OpenAI-compatible facade, both over the same chat graph."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.api.errors import ApiError
from agent.api.metrics import ApiMetrics
from agent.api.store import Store
from agent.case_chat.graph import (
    ChatContext,
    ChatPrompt,
    build_chat_graph,
    chat_thread_id,
    stream_chat,
)
from agent.case_chat.tools import CaseMaterial, ReferenceFinder, Scorer, load_case_sequence
from agent.llm.client import ChatModel, ChatModelError

logger = logging.getLogger(__name__)


class CaseChat:
    """Built once at start-up; one lock per case keeps a thread's turns in order."""

    def __init__(
        self,
        store: Store,
        model: ChatModel,
        rescore: Scorer,
        checkpointer: BaseCheckpointSaver[Any],
        metrics: ApiMetrics,
        max_tokens: int,
        prompt: ChatPrompt,
        references: ReferenceFinder | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.rescore = rescore
        self.metrics = metrics
        self.max_tokens = max_tokens
        self.references = references
        self.prompt = prompt
        self._threaded = build_chat_graph(checkpointer)
        self._stateless = build_chat_graph(None)
        self._locks: dict[str, asyncio.Lock] = {}
        self._turns: set[asyncio.Task[None]] = set()

    async def _context(self, case_id: str, max_tokens: int | None = None) -> ChatContext:
        sequence = load_case_sequence(self.store, case_id)
        if sequence is None:
            raise ApiError(404, "not_found", f"no case {case_id!r}")
        [score] = await self.rescore([sequence])
        material = CaseMaterial(case_id, sequence, score, self.store, self.rescore, self.references)
        limit = min(max_tokens, self.max_tokens) if max_tokens else self.max_tokens
        return ChatContext(material, self.model, self.prompt, limit)

    async def open_turn(self, case_id: str, question: str, actor: str) -> ChatContext:
        """Check the case exists and record the question, before any streaming starts."""
        context = await self._context(case_id)
        self.store.add_message(case_id, "user", question, actor)
        return context

    async def stream_turn(
        self, context: ChatContext, question: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Tool and token events, then `done` with the whole answer (or `error`).

        The turn runs as its own task: a client that hangs up mid-answer does not cut the
        thread short; the answer is still completed and stored.
        """
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        turn = asyncio.create_task(self._run_turn(context, question, queue))
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)
        while (item := await queue.get()) is not None:
            yield item

    async def _run_turn(
        self, context: ChatContext, question: str, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        case_id = context.case.case_id
        pieces: list[str] = []
        started = time.perf_counter()
        try:
            async with self._locks.setdefault(case_id, asyncio.Lock()):
                async for item in stream_chat(
                    self._threaded, context, [HumanMessage(question)], chat_thread_id(case_id)
                ):
                    if item["type"] == "token":
                        pieces.append(item["text"])
                    queue.put_nowait(item)
            answer = "".join(pieces)
            self.store.add_message(case_id, "assistant", answer, "agent", self.prompt.version)
            queue.put_nowait({"type": "done", "content": answer})
        except ChatModelError as error:
            self.metrics.fallbacks.inc()
            queue.put_nowait({"type": "error", "code": "model_unavailable", "message": str(error)})
        except Exception:
            logger.exception("chat turn on case %s failed", case_id)
            queue.put_nowait({"type": "error", "code": "internal_error", "message": "see the log"})
        finally:
            self.metrics.llm_latency.labels("chat").observe(time.perf_counter() - started)
            queue.put_nowait(None)

    async def close(self) -> None:
        for turn in list(self._turns):
            turn.cancel()
        await asyncio.gather(*self._turns, return_exceptions=True)

    async def thread_history(self, case_id: str) -> list[AnyMessage]:
        """The persisted LangGraph thread of the case (empty when none)."""
        snapshot = await self._threaded.aget_state(
            {"configurable": {"thread_id": chat_thread_id(case_id)}}
        )
        return list(snapshot.values.get("messages", [])) if snapshot.values else []

    async def stream_stateless(
        self, case_id: str, conversation: Sequence[tuple[str, str]], max_tokens: int | None
    ) -> AsyncIterator[str]:
        """Answer pieces for a client that sends the whole conversation (OpenAI style);
        `max_tokens` can only lower settings.chat_max_tokens."""
        context = await self._context(case_id, max_tokens)
        messages: list[AnyMessage] = [
            HumanMessage(text) if role == "user" else AIMessage(text) for role, text in conversation
        ]
        started = time.perf_counter()
        try:
            async for item in stream_chat(self._stateless, context, messages, None):
                if item["type"] == "token":
                    yield item["text"]
        except ChatModelError as error:
            self.metrics.fallbacks.inc()
            raise ApiError(503, "model_unavailable", str(error)) from error
        finally:
            self.metrics.llm_latency.labels("chat").observe(time.perf_counter() - started)
