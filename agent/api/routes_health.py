"""Liveness, readiness and Prometheus metrics (no API key: probes and scrapers call these)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agent.api.deps import MetricsDep, ScreeningDep
from agent.api.protocol import ERROR_RESPONSES, HealthResponse, ReadyResponse

router = APIRouter(tags=["health"], responses={500: ERROR_RESPONSES[500]})


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=ReadyResponse, responses={503: ERROR_RESPONSES[503]})
async def readyz(screening: ScreeningDep) -> ReadyResponse:
    """The detector is loaded and the model server answers; 503 (with the reason) otherwise."""
    return await screening.readiness()


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")
