"""The analyst's case pages, served by the API under /ui (Jinja2, a little plain JavaScript)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.api.ui.routes import refusal_page, router
from agent.api.ui.sessions import LoginRequired, UiRefusal

STATIC_DIR = Path(__file__).parent / "static"


async def _login_required(request: Request, error: Exception) -> Response:
    if request.method == "GET":
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/ui/login?next={target}", status_code=303)
    return refusal_page(request, 401, "not signed in (or the session expired); sign in again")


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, UiRefusal)
    return refusal_page(request, error.status, error.message)


def install_ui(app: FastAPI) -> None:
    """Mount the pages, their static files and the handlers that answer their refusals."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(UiRefusal, _refused)
