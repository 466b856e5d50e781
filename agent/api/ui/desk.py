"""The analyst's desk: the service behind the pages (queue, case page, labels, chat, approvals),
over the running API service's store, chat and agent."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from agent.api.cases import CaseService
from agent.api.chat_service import CaseChat
from agent.api.decisions import DecisionService, get_decisions
from agent.api.errors import ApiError
from agent.api.protocol import ApprovalRequest, FeedbackRequest
from agent.api.store import Store
from agent.api.ui.case_page import CasePage, build_case_page
from agent.api.ui.queue import QUEUE_LIMIT, QueueFilters, QueuePage, build_queue
from agent.api.ui.sessions import UiRefusal


def _refusal(error: ValidationError) -> UiRefusal:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return UiRefusal(422, f"{where}: {problem['msg']}")


class AnalystDesk:
    def __init__(
        self, store: Store, chat: CaseChat, cases: CaseService, decisions: DecisionService
    ) -> None:
        self.store = store
        self.chat = chat
        self.cases = cases
        self.decisions = decisions

    def queue(self, filters: QueueFilters) -> QueuePage:
        return build_queue(self.store.queue_rows(QUEUE_LIMIT), filters, time.time())

    async def case_page(self, case_id: str) -> CasePage:
        page = await build_case_page(self.store, case_id, self.chat.rescore, self.chat.references)
        if page is None:
            raise UiRefusal(404, f"no case {case_id!r}")
        return page

    def add_label(self, case_id: str, form: dict[str, Any], actor: str) -> None:
        """The analyst's label (fraud type, action taken, note), as POST /v1/cases/{id}/feedback."""
        try:
            label = FeedbackRequest.model_validate(form)
        except ValidationError as error:
            raise _refusal(error) from None
        try:
            self.cases.add_feedback(case_id, label, actor)
        except ApiError as error:
            raise UiRefusal(error.status, error.message) from None

    async def decide(self, case_id: str, form: dict[str, Any], actor: str) -> bool:
        """Approve or reject the held action, as POST /v1/cases/{id}/approval; True if approved."""
        try:
            request = ApprovalRequest.model_validate(form)
        except ValidationError as error:
            raise _refusal(error) from None
        try:
            await self.decisions.decide(case_id, request, actor)
        except ApiError as error:
            raise UiRefusal(error.status, error.message) from None
        return request.approved

    async def ask(self, case_id: str, question: str, actor: str) -> AsyncIterator[dict[str, Any]]:
        """The chat turn's events (`tool`, `token`, then `done` or `error`), as the SSE route."""
        if not 1 <= len(question) <= 4000:
            raise UiRefusal(422, f"a question has 1–4000 characters; this one has {len(question)}")
        try:
            context = await self.chat.open_turn(case_id, question, actor)
        except ApiError as error:
            raise UiRefusal(error.status, error.message) from None
        return self.chat.stream_turn(context, question)


def get_desk(request: Request) -> AnalystDesk:
    """The desk over the running service (rebuilt after an app restart brings a new store)."""
    state = request.app.state
    service = state.service
    desk: AnalystDesk | None = getattr(state, "analyst_desk", None)
    if desk is None or desk.store is not service.store:
        desk = AnalystDesk(service.store, service.chat, service.cases, get_decisions(request))
        state.analyst_desk = desk
    return desk


DeskDep = Annotated[AnalystDesk, Depends(get_desk)]
