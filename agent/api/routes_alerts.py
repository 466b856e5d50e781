"""Alerts: one verdict per alert (idempotent on alert_id), batches as jobs, status look-ups."""

from __future__ import annotations

from fastapi import APIRouter, Path

from agent.api.auth import ReadKey, WriteKey
from agent.api.deps import AlertsDep
from agent.api.protocol import (
    ERROR_RESPONSES,
    ID_PATTERN,
    AlertRequest,
    AlertResponse,
    BatchRequest,
    JobResponse,
)

router = APIRouter(prefix="/v1", tags=["alerts"], responses=ERROR_RESPONSES)


@router.post("/alerts", response_model=AlertResponse)
async def create_alert(request: AlertRequest, alerts: AlertsDep, key: WriteKey) -> AlertResponse:
    """The verdict for one alert; the same alert_id again returns the stored verdict."""
    return await alerts.submit_alert(request, key.name)


@router.post("/alerts:batch", response_model=JobResponse, status_code=202)
async def create_batch(request: BatchRequest, alerts: AlertsDep, key: WriteKey) -> JobResponse:
    """Persist every alert, investigate them with bounded concurrency; poll the returned job."""
    return await alerts.start_batch(request.alerts, key.name)


@router.get("/alerts/{alert_id}", response_model=AlertResponse)
async def get_alert(
    alerts: AlertsDep, key: ReadKey, alert_id: str = Path(pattern=ID_PATTERN)
) -> AlertResponse:
    return alerts.alert_status(alert_id)


@router.get("/jobs/{job_id}", response_model=JobResponse)
async def get_job(
    alerts: AlertsDep, key: ReadKey, job_id: str = Path(pattern=ID_PATTERN)
) -> JobResponse:
    return alerts.job_status(job_id)
