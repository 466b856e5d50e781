"""The analyst's pages under /ui: sign-in, the queue, the case page, its chat stream and the
decision forms. HTTP only; the desk does the work. Not part of the OpenAPI schema."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sse_starlette import EventSourceResponse

from agent.api.protocol import ID_PATTERN
from agent.api.ui.desk import DeskDep
from agent.api.ui.queue import STATUS_LABELS, queue_filters
from agent.api.ui.sessions import (
    Analyst,
    Decider,
    FormAnalyst,
    SignedIn,
    UiRefusal,
    login_csrf_token,
    set_login_csrf,
    sign_in,
    sign_out,
)
from agent.settings import Settings, get_settings
from detectors.cases import FRAUD_TYPES, RISK_ACTIONS

router = APIRouter(prefix="/ui", include_in_schema=False)
CaseId = PathParam(pattern=ID_PATTERN)
TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value is escaped; user text is never marked safe
    )
)
PAGE_HEADERS = {
    # Scripts and styles only from /ui/static: injected markup could not run even if unescaped.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NOTICES = {
    "labelled": "Label recorded.",
    "approved": "Approved; the verdict is final.",
    "rejected": "Rejected; the verdict is final.",
}
_SAFE_NEXT = re.compile(r"^/ui(?:/[A-Za-z0-9._:\-]+)*$")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    analyst: Analyst | None = None,
    status: int = 200,
) -> Response:
    """A page with the security headers; `analyst` fills the header bar and form tokens."""
    values = {
        "analyst": analyst,
        "csrf_token": analyst.csrf_token if analyst else "",
        "fraud_types": FRAUD_TYPES,
        "risk_actions": RISK_ACTIONS,
        "status_labels": STATUS_LABELS,
        **context,
    }
    return TEMPLATES.TemplateResponse(
        request, template, values, status_code=status, headers=PAGE_HEADERS
    )


def refusal_page(request: Request, status: int, message: str) -> Response:
    return render(request, "refused.html", {"status": status, "message": message}, status=status)


def safe_next(value: str) -> str:
    """Where to go after signing in: a page under /ui, never another site."""
    return value if _SAFE_NEXT.match(value) and "//" not in value else "/ui"


def _login_page(request: Request, next_path: str, error: str | None, status: int) -> Response:
    token = login_csrf_token(request)
    context = {"login_csrf": token, "next": safe_next(next_path), "error": error}
    response = render(request, "login.html", context, status=status)
    set_login_csrf(request, response, token)
    return response


@router.get("/login")
async def login_form(
    request: Request, next_path: Annotated[str, Query(alias="next", max_length=512)] = "/ui"
) -> Response:
    return _login_page(request, next_path, None, 200)


@router.post("/login")
async def login(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    api_key: Annotated[str, Form(max_length=512)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=512)] = "/ui",
) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    try:
        sign_in(request, response, settings, api_key, csrf_token)
    except UiRefusal as refusal:
        return _login_page(request, next_path, refusal.message, refusal.status)
    return response


@router.post("/logout")
async def logout(request: Request, analyst: FormAnalyst) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    sign_out(request, response)
    return response


@router.get("")
async def queue(
    request: Request,
    desk: DeskDep,
    analyst: SignedIn,
    status: str = "",
    fraud_type: str = "",
    action: str = "",
    sort: str = "",
) -> Response:
    try:
        filters = queue_filters(status, fraud_type, action, sort)
    except ValueError as error:
        raise UiRefusal(422, str(error)) from None
    return render(request, "queue.html", {"queue": desk.queue(filters)}, analyst)


@router.get("/cases/{case_id}")
async def case_page(
    request: Request, desk: DeskDep, analyst: SignedIn, case_id: str = CaseId, notice: str = ""
) -> Response:
    context = {"case": await desk.case_page(case_id), "notice": NOTICES.get(notice)}
    return render(request, "case.html", context, analyst)


@router.post("/cases/{case_id}/messages")
async def ask(
    request: Request,
    desk: DeskDep,
    analyst: Decider,
    content: Annotated[str, Form()],
    case_id: str = CaseId,
) -> Response:
    """The answer as Server-Sent Events (the same events as POST /v1/cases/{id}/messages) for
    the page's script; without it (a plain form post) the turn finishes, then the page reloads."""
    events = await desk.ask(case_id, content.strip(), analyst.name)
    if "text/event-stream" in request.headers.get("accept", ""):

        async def stream() -> AsyncIterator[dict[str, Any]]:
            async for item in events:
                kind = item.pop("type")
                yield {"event": kind, "data": json.dumps(item, ensure_ascii=False)}

        return EventSourceResponse(stream())
    async for _ in events:
        pass
    return RedirectResponse(f"/ui/cases/{case_id}#chat", status_code=303)


@router.post("/cases/{case_id}/feedback")
async def label(
    request: Request,
    desk: DeskDep,
    analyst: Decider,
    fraud_type: Annotated[str, Form()],
    action: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    case_id: str = CaseId,
) -> Response:
    form = {"fraud_type": fraud_type, "action": action, "note": note.strip() or None}
    desk.add_label(case_id, form, analyst.name)
    return RedirectResponse(f"/ui/cases/{case_id}?notice=labelled#decisions", status_code=303)


@router.post("/cases/{case_id}/approval")
async def approval(
    request: Request,
    desk: DeskDep,
    analyst: Decider,
    approved: Annotated[str, Form()],
    action_if_rejected: Annotated[str, Form()] = "manual_review",
    note: Annotated[str, Form()] = "",
    case_id: str = CaseId,
) -> Response:
    form = {
        "approved": approved,
        "action_if_rejected": action_if_rejected,
        "note": note.strip() or None,
    }
    outcome = "approved" if await desk.decide(case_id, form, analyst.name) else "rejected"
    return RedirectResponse(f"/ui/cases/{case_id}?notice={outcome}#decisions", status_code=303)
