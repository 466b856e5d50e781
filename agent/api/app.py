"""The FastAPI application: `create_app(settings)`; the lifespan builds the service once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agent.api import (
    routes_alerts,
    routes_cases,
    routes_decisions,
    routes_health,
    routes_openai,
    routes_screen,
)
from agent.api.errors import install_error_handlers
from agent.api.limits import BodySizeLimit
from agent.api.metrics import ApiMetrics, RequestMetrics
from agent.api.service import ApiService
from agent.api.ui import install_ui
from agent.settings import Settings, get_settings

ServiceFactory = Callable[[Settings, ApiMetrics], Awaitable[ApiService]]


def create_app(settings: Settings, build_service: ServiceFactory | None = None) -> FastAPI:
    """The app for these settings; `build_service` replaces the default wiring (tests)."""
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if build_service is None:
            from agent.api.wiring import build_default_service

            service = await build_default_service(settings, metrics)
        else:
            service = await build_service(settings, metrics)
        app.state.service = service
        service.alerts.requeue_interrupted()
        retries = asyncio.create_task(service.alerts.retry_forever())
        try:
            yield
        finally:
            retries.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retries
            await service.close()

    app = FastAPI(
        title="fraudlens",
        version="1",
        summary="Screen behaviour sequences, get verdicts for alerts, investigate cases in chat.",
        lifespan=lifespan,
    )
    app.dependency_overrides[get_settings] = lambda: settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: counts refusals too
    for module in (routes_health, routes_screen, routes_alerts, routes_cases, routes_openai):
        app.include_router(module.router)
    app.include_router(routes_decisions.router)
    install_ui(app)
    return app
