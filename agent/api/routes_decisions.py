"""Decisions: approve or reject a verdict that waits for an analyst (resumes the agent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from agent.api.auth import WriteKey
from agent.api.decisions import DecisionsDep
from agent.api.protocol import (
    ERROR_RESPONSES,
    ID_PATTERN,
    ApprovalRequest,
    ApprovalResponse,
    ErrorEnvelope,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "No verdict of the case awaits approval"}
}


@router.post("/{case_id}/approval", response_model=ApprovalResponse, responses=CONFLICT)
async def post_approval(
    request: ApprovalRequest,
    decisions: DecisionsDep,
    key: WriteKey,
    case_id: str = Path(pattern=ID_PATTERN),
) -> ApprovalResponse:
    """Approve the held action, or replace it with `action_if_rejected`; audit-logged with the
    key's name as `verdict.approve` / `verdict.reject`."""
    return await decisions.decide(case_id, request, key.name)
