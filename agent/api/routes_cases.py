"""Cases: the analyst's view, the chat (Server-Sent Events) and feedback labels."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Path
from sse_starlette import EventSourceResponse

from agent.api.auth import ReadKey, WriteKey
from agent.api.deps import CasesDep, ChatDep
from agent.api.protocol import (
    ERROR_RESPONSES,
    ID_PATTERN,
    CaseResponse,
    FeedbackRequest,
    FeedbackResponse,
    MessageRequest,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)
CaseId = Path(pattern=ID_PATTERN)
SSE_DESCRIPTION = (
    "Server-Sent Events: `tool` ({name, event_ids}) for each tool run, `token` ({text}) for each "
    "piece of the answer, then `done` ({content}) or `error` ({code, message})."
)


@router.get("/{case_id}", response_model=CaseResponse)
async def get_case(cases: CasesDep, key: ReadKey, case_id: str = CaseId) -> CaseResponse:
    """Events, verdict, analyst messages, feedback and the audit trail of one case."""
    return await cases.case_view(case_id)


@router.post(
    "/{case_id}/messages",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": SSE_DESCRIPTION}},
)
async def post_message(
    request: MessageRequest, chat: ChatDep, key: WriteKey, case_id: str = CaseId
) -> EventSourceResponse:
    """Ask about the case; the answer streams back while the agent uses its tools."""
    context = await chat.open_turn(case_id, request.content, key.name)

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for item in chat.stream_turn(context, request.content):
            kind = item.pop("type")
            yield {"event": kind, "data": json.dumps(item, ensure_ascii=False)}

    return EventSourceResponse(events())


@router.post("/{case_id}/feedback", response_model=FeedbackResponse, status_code=201)
async def post_feedback(
    request: FeedbackRequest, cases: CasesDep, key: WriteKey, case_id: str = CaseId
) -> FeedbackResponse:
    """Record the analyst's label (fraud type, action taken, note); audit-logged."""
    return cases.add_feedback(case_id, request, key.name)
