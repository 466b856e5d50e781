"""`POST /v1/screen`: detector scores and the most surprising events per user; no LLM."""

from __future__ import annotations

from fastapi import APIRouter

from agent.api.auth import ReadKey
from agent.api.deps import ScreeningDep
from agent.api.protocol import ERROR_RESPONSES, ScreenRequest, ScreenResponse

router = APIRouter(prefix="/v1", tags=["screen"], responses=ERROR_RESPONSES)


@router.post("/screen", response_model=ScreenResponse)
async def screen(request: ScreenRequest, screening: ScreeningDep, key: ReadKey) -> ScreenResponse:
    """Group the events per user, score each sequence, return score, flag and top events."""
    return await screening.screen(request)
