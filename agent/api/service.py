"""The API's services, built once at start-up and kept on `app.state`: screening, alerts, cases
and the case chat, with the store and metrics they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent.api.alerts import AlertService
from agent.api.cases import CaseService
from agent.api.chat_service import CaseChat
from agent.api.metrics import ApiMetrics
from agent.api.screening import ScreeningService
from agent.api.store import Store
from agent.investigator import Investigator
from agent.settings import Settings


@dataclass
class ApiService:
    """Every feature's service; routers reach them through the aliases in `deps.py`."""

    settings: Settings
    store: Store
    metrics: ApiMetrics
    screening: ScreeningService
    alerts: AlertService
    cases: CaseService
    chat: CaseChat
    investigator: Investigator
    on_close: Callable[[], Awaitable[None]] | None = None

    async def close(self) -> None:
        await self.alerts.close()
        await self.chat.close()
        if self.on_close is not None:
            await self.on_close()
        self.store.close()
