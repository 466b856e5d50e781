"""Analyst approval of a held verdict: resume the agent's interrupt and store what it decides."""

from __future__ import annotations

import asyncio
from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Request

from agent.api.errors import ApiError
from agent.api.protocol import ApprovalRequest, ApprovalResponse
from agent.api.store import Store
from agent.state import ApprovalDecision
from agent.verdict import Verdict


@runtime_checkable
class ResumesApprovals(Protocol):
    """The agent as approvals use it (agent.investigator.Investigator.resume)."""

    async def resume(self, case_id: str, decision: ApprovalDecision) -> Verdict: ...


def investigation_thread(case_id: str, attempts: int) -> str:
    """The agent thread of the stored verdict: the alert service investigates attempt n under
    `case_id` (n = 0) or `case_id:retry-n`, and `attempts` counts the finished ones."""
    last = attempts - 1
    return case_id if last <= 0 else f"{case_id}:retry-{last}"


class DecisionService:
    """Approve or reject a verdict held by settings.require_approval_for; one decision per case."""

    def __init__(self, store: Store, investigator: object) -> None:
        self.store = store
        self.investigator = investigator
        self._locks: dict[str, asyncio.Lock] = {}

    def awaiting_action(self, case_id: str) -> str | None:
        """The action the case's verdict holds for approval, or None."""
        verdict = self.store.get_verdict(case_id)
        held = verdict.get("awaiting_approval") if verdict is not None else None
        return str(held) if held else None

    async def decide(self, case_id: str, request: ApprovalRequest, actor: str) -> ApprovalResponse:
        if not isinstance(self.investigator, ResumesApprovals):
            raise ApiError(501, "not_supported", "this server's agent cannot resume approvals")
        async with self._locks.setdefault(case_id, asyncio.Lock()):
            alert = self.store.get_alert(case_id)
            if alert is None:
                raise ApiError(404, "not_found", f"no case {case_id!r}")
            held = self.awaiting_action(case_id)
            if held is None:
                raise ApiError(
                    409,
                    "not_awaiting_approval",
                    f"case {case_id!r} (status {alert.status}) has no verdict awaiting approval",
                )
            decision = ApprovalDecision(
                approved=request.approved,
                analyst=actor,
                note=request.note,
                action_if_rejected=request.action_if_rejected,
            )
            thread = investigation_thread(case_id, alert.attempts)
            try:
                verdict = await self.investigator.resume(thread, decision)
            except ValueError as error:
                raise ApiError(409, "not_awaiting_approval", str(error)) from None
            verdict = verdict.model_copy(update={"case_id": case_id})
            self.store.record_approval(
                case_id, verdict.model_dump(mode="json"), request.approved, request.note, actor
            )
        return ApprovalResponse(
            case_id=case_id, approved=request.approved, actor=actor, verdict=verdict
        )


def get_decisions(request: Request) -> DecisionService:
    """The decision service over the running service's store and agent (rebuilt after a
    restart of the app, when the store is a new one)."""
    state = request.app.state
    service = state.service
    decisions: DecisionService | None = getattr(state, "decisions", None)
    if decisions is None or decisions.store is not service.store:
        decisions = DecisionService(service.store, service.investigator)
        state.decisions = decisions
    return decisions


DecisionsDep = Annotated[DecisionService, Depends(get_decisions)]
