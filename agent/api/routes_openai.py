"""`POST /v1/chat/completions`: any OpenAI chat client investigates a case (model `case:<id>`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from agent.api.auth import ReadKey
from agent.api.deps import ChatDep
from agent.api.errors import ApiError
from agent.api.protocol import ERROR_RESPONSES
from agent.api.protocol_openai import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChoiceMessage,
)

router = APIRouter(prefix="/v1", tags=["openai"], responses=ERROR_RESPONSES)


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, str], done: bool) -> str:
    return json.dumps(
        {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if done else None}],
        },
        ensure_ascii=False,
    )


@router.post(
    "/chat/completions",
    response_model=ChatCompletionResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_completions(
    request: ChatCompletionRequest, chat: ChatDep, key: ReadKey
) -> ChatCompletionResponse | EventSourceResponse:
    """The answer to the conversation's last user message about the case; `stream` for SSE.

    Stateless (the client sends the whole conversation), so a read-only key may use it.
    """
    case_id = request.model.removeprefix("case:")
    conversation = [
        (message.role, message.content)
        for message in request.messages
        if message.role in ("user", "assistant") and message.content
    ]
    if not conversation or conversation[-1][0] != "user":
        raise ApiError(422, "invalid_request", "messages must end with a non-empty user message")
    pieces = chat.stream_stateless(case_id, conversation, request.max_tokens)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    # The first piece is awaited here, so a missing case or a down model is a plain HTTP error.
    first = await anext(pieces, "")
    if not request.stream:
        text = first + "".join([piece async for piece in pieces])
        return ChatCompletionResponse(
            id=completion_id,
            created=created,
            model=request.model,
            choices=[Choice(message=ChoiceMessage(content=text))],
        )

    async def chunks() -> AsyncIterator[str]:
        yield _chunk(completion_id, created, request.model, {"role": "assistant"}, False)
        if first:
            yield _chunk(completion_id, created, request.model, {"content": first}, False)
        async for piece in pieces:
            yield _chunk(completion_id, created, request.model, {"content": piece}, False)
        yield _chunk(completion_id, created, request.model, {}, True)
        yield "[DONE]"

    return EventSourceResponse(chunks())
