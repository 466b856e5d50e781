"""Screening for the API: scores per user, and readiness (detector fitted, model server up)."""

from __future__ import annotations

import asyncio

import httpx

from agent.api.errors import ApiError
from agent.api.protocol import (
    ReadyResponse,
    ScreenRequest,
    ScreenResponse,
    SequenceResult,
    SurprisingEvent,
)
from agent.api.sequences_in import check_sequence_limit, parse_records
from agent.context import Screener
from agent.settings import Settings
from detectors.events import format_ts
from detectors.scores import SequenceScore
from detectors.sequences import Sequence, group_sequences

READY_TIMEOUT_S = 3.0


class ScreeningService:
    """The detector behind /v1/screen, the alerts and the chat's rescoring tool."""

    def __init__(self, settings: Settings, detector: Screener) -> None:
        self.settings = settings
        self.detector = detector

    async def score(self, sequences: list[Sequence]) -> list[SequenceScore]:
        """Scores computed in a worker thread, so other requests keep flowing meanwhile."""
        return await asyncio.to_thread(self.detector.explain, sequences)

    async def screen(self, request: ScreenRequest) -> ScreenResponse:
        sequences = group_sequences(parse_records(request.events, "events"))
        check_sequence_limit(sequences, self.settings.api_max_events_per_sequence)
        scores = await self.score(sequences)
        results = []
        for sequence, score in zip(sequences, scores, strict=True):
            top = [
                SurprisingEvent(
                    event_id=f"e{surprise.index}",
                    action=sequence.events[surprise.index].action,
                    ts=format_ts(sequence.events[surprise.index].ts),
                    token=surprise.token,
                    nll=surprise.nll,
                    rank=surprise.rank,
                )
                for surprise in score.top_events(request.top_k)
            ]
            results.append(
                SequenceResult(
                    user_id=sequence.user_id,
                    events=len(sequence),
                    score=score.score,
                    flagged=score.flagged,
                    top_events=top,
                )
            )
        return ScreenResponse(detector_version=self.detector.version, results=results)

    async def readiness(self) -> ReadyResponse:
        """Ready when the detector is fitted, the model server lists its models and its engine
        is alive (vLLM's `/health` answers 5xx once the engine has died; a server without
        `/health` is judged by `/models` alone)."""
        if self.detector.version.endswith("unfitted"):
            raise ApiError(503, "not_ready", "detector is not fitted")
        base_url = self.settings.llm_base_url
        if base_url is None:
            raise ApiError(503, "not_ready", "no model server configured (settings.llm_base_url)")
        try:
            async with httpx.AsyncClient(timeout=READY_TIMEOUT_S) as client:
                response = await client.get(base_url.rstrip("/") + "/models")
                response.raise_for_status()
                health = await client.get(base_url.rstrip("/").removesuffix("/v1") + "/health")
        except httpx.HTTPError as error:
            raise ApiError(
                503, "not_ready", f"model server at {base_url} unreachable: {type(error).__name__}"
            ) from None
        if health.status_code >= 500:
            raise ApiError(
                503,
                "not_ready",
                f"model server at {base_url}: engine unhealthy "
                f"(/health answered {health.status_code})",
            )
        return ReadyResponse(
            status="ready", detector_version=self.detector.version, model_server=base_url
        )
