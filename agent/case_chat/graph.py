"""The case chat agent: LangGraph (choose tools → run tools → stream the answer), one thread per
case in a SQLite checkpointer so a conversation survives restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from string import Template
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent.case_chat.tools import (
    DEFAULT_TOOLS,
    CaseMaterial,
    ToolCall,
    ToolChoice,
    run_tool,
    tool_choice_schema,
)
from agent.llm.client import ChatMessage, ChatModel, ChatModelError
from agent.llm.streaming import streams_answers
from agent.prompting import PROMPTS_DIR

HISTORY_TURNS = 6
"""Earlier messages of the thread the model sees with a new question."""
CHUNK_CHARS = 24
"""Piece size when a model without `stream` answers in one go."""
TOOL_CHOICE_MAX_TOKENS = 120


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    version: str
    """Recorded with every answer it produced."""
    system: str
    tools: Template

    @classmethod
    def load(cls, version: str) -> ChatPrompt:
        read = lambda part: (PROMPTS_DIR / f"{version}_{part}.md").read_text("utf-8").strip()  # noqa: E731
        return cls(version, read("system"), Template(read("tools")))


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: analyst questions and the agent's answers."""
    tool_calls: list[dict[str, Any]]
    """Tools chosen for the latest question."""
    tool_results: list[str]
    """Their results, as text for the model."""


@dataclass(frozen=True, slots=True)
class ChatContext:
    """Per-run knobs: the case, the model and the prompt."""

    case: CaseMaterial
    model: ChatModel
    prompt: ChatPrompt
    max_tokens: int


def _text(message: AnyMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


async def choose_tools(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    context = runtime.context
    question = _text(state["messages"][-1])
    instruction = context.prompt.tools.safe_substitute(
        case_id=context.case.case_id, question=question
    )
    calls: list[ToolCall]
    try:
        result = await context.model.complete(
            [{"role": "user", "content": instruction}],
            json_schema=tool_choice_schema(),
            max_tokens=TOOL_CHOICE_MAX_TOKENS,
        )
        calls = ToolChoice.model_validate_json(result.text).tools
    except (ChatModelError, ValidationError):
        calls = [ToolCall(name=name) for name in DEFAULT_TOOLS]
    unique = list({call.name: call for call in calls}.values())
    return {"tool_calls": [call.model_dump() for call in unique]}


async def run_tools(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    results = []
    for raw in state["tool_calls"]:
        call = ToolCall.model_validate(raw)
        runtime.stream_writer({"type": "tool", "name": call.name, "event_ids": call.event_ids})
        results.append(await run_tool(call, runtime.context.case))
    return {"tool_results": results}


def _answer_messages(state: ChatState, context: ChatContext) -> list[ChatMessage]:
    material = "Case material:\n\n" + "\n\n".join(state["tool_results"])
    messages: list[ChatMessage] = [
        {"role": "system", "content": f"{context.prompt.system}\n\n{material}"}
    ]
    for message in state["messages"][-(HISTORY_TURNS + 1) :]:
        role: Literal["user", "assistant"] = "user" if message.type == "human" else "assistant"
        messages.append({"role": role, "content": _text(message)})
    return messages


async def _answer_pieces(context: ChatContext, messages: list[ChatMessage]) -> AsyncIterator[str]:
    streaming = streams_answers(context.model)
    if streaming is not None:
        async for piece in streaming.stream(messages, max_tokens=context.max_tokens):
            yield piece
        return
    result = await context.model.complete(messages, max_tokens=context.max_tokens)
    for start in range(0, len(result.text), CHUNK_CHARS):
        yield result.text[start : start + CHUNK_CHARS]


async def write_answer(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    pieces = []
    async for piece in _answer_pieces(runtime.context, _answer_messages(state, runtime.context)):
        pieces.append(piece)
        runtime.stream_writer({"type": "token", "text": piece})
    return {"messages": [AIMessage("".join(pieces))]}


def build_chat_graph(
    checkpointer: BaseCheckpointSaver[Any] | None,
) -> CompiledStateGraph[ChatState, ChatContext, ChatState, ChatState]:
    graph = StateGraph(ChatState, context_schema=ChatContext)
    graph.add_node(choose_tools)
    graph.add_node(run_tools)
    graph.add_node(write_answer)
    graph.add_edge(START, "choose_tools")
    graph.add_edge("choose_tools", "run_tools")
    graph.add_edge("run_tools", "write_answer")
    graph.add_edge("write_answer", END)
    return graph.compile(checkpointer=checkpointer)


def chat_thread_id(case_id: str) -> str:
    """Distinct from the investigation graph's thread of the same case."""
    return f"chat:{case_id}"


async def stream_chat(
    graph: CompiledStateGraph[ChatState, ChatContext, ChatState, ChatState],
    context: ChatContext,
    messages: list[AnyMessage],
    thread_id: str | None,
) -> AsyncIterator[dict[str, Any]]:
    """Run one turn; yield `{"type": "tool"|"token", ...}` as they happen."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}} if thread_id else {}
    state_in: ChatState = {"messages": messages, "tool_calls": [], "tool_results": []}
    async for item in graph.astream(state_in, config, context=context, stream_mode="custom"):
        yield item
