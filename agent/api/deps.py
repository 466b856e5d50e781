"""Dependency aliases the routers share: settings and each feature's service from `app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agent.api.alerts import AlertService
from agent.api.cases import CaseService
from agent.api.chat_service import CaseChat
from agent.api.metrics import ApiMetrics
from agent.api.screening import ScreeningService
from agent.api.service import ApiService
from agent.settings import Settings, get_settings


def get_service(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


def get_screening(request: Request) -> ScreeningService:
    return get_service(request).screening


def get_alerts(request: Request) -> AlertService:
    return get_service(request).alerts


def get_cases(request: Request) -> CaseService:
    return get_service(request).cases


def get_chat(request: Request) -> CaseChat:
    return get_service(request).chat


def get_metrics(request: Request) -> ApiMetrics:
    return get_service(request).metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[ApiService, Depends(get_service)]
ScreeningDep = Annotated[ScreeningService, Depends(get_screening)]
AlertsDep = Annotated[AlertService, Depends(get_alerts)]
CasesDep = Annotated[CaseService, Depends(get_cases)]
ChatDep = Annotated[CaseChat, Depends(get_chat)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
