"""Dependency aliases the routers share: settings and the service built at start-up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agent.api.service import ApiService
from agent.settings import Settings, get_settings


def get_service(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[ApiService, Depends(get_service)]
