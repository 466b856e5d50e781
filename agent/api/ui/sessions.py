"""Analyst sign-in for the pages: an API key exchanged for a server-side session (HttpOnly,
SameSite=Strict cookie), a CSRF token per session checked on every form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from agent.api.auth import find_key
from agent.api.store import Store
from agent.settings import Settings, get_settings

SESSION_COOKIE = "fraudlens_session"
LOGIN_CSRF_COOKIE = "fraudlens_login_csrf"
SESSION_TTL_S = 8 * 3600.0
"""A working day; then the analyst signs in again."""
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, anything else is refused (401)."""


class UiRefusal(Exception):
    """A request the pages refuse, shown as an HTML page with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Analyst:
    """Who is signed in: the API key's name and scopes, and the session's CSRF token."""

    name: str
    scopes: tuple[str, ...]
    csrf_token: str

    @property
    def can_decide(self) -> bool:
        return "write" in self.scopes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _store(request: Request) -> Store:
    store: Store = request.app.state.service.store
    return store


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def login_csrf_token(request: Request) -> str:
    """The login form's token: the browser's login cookie, or a new one (double submit: there
    is no session to keep it in yet)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def sign_in(
    request: Request, response: Response, settings: Settings, presented_key: str, form_csrf: str
) -> Analyst:
    """Check the login form and the key; set the session cookie on `response`."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form_csrf):
        raise UiRefusal(403, "the login form expired; reload the page and sign in again")
    key = find_key(settings, presented_key.strip())
    if key is None:
        raise UiRefusal(401, "unknown API key")
    if "read" not in key.scopes:
        raise UiRefusal(403, f"key {key.name!r} has scopes {key.scopes}; the pages need 'read'")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _store(request).create_ui_session(_digest(token), key.name, csrf, SESSION_TTL_S)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL_S),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
    return Analyst(key.name, tuple(key.scopes), csrf)


def sign_out(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _store(request).delete_ui_session(_digest(token))
    response.delete_cookie(SESSION_COOKIE, path="/ui")


def signed_in_analyst(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> Analyst:
    """The session's analyst; the key must still be configured (removing it ends its sessions)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = _store(request).get_ui_session(_digest(token)) if token else None
    if session is None:
        raise LoginRequired
    name, csrf = session
    key = next((key for key in settings.api_keys if key.name == name), None)
    if key is None or "read" not in key.scopes:
        raise LoginRequired
    return Analyst(name, tuple(key.scopes), csrf)


SignedIn = Annotated[Analyst, Depends(signed_in_analyst)]


def form_analyst(
    request: Request, analyst: SignedIn, csrf_token: Annotated[str, Form()] = ""
) -> Analyst:
    """The analyst behind a form post whose CSRF token (field or header) matches the session."""
    presented = csrf_token or request.headers.get(CSRF_HEADER, "")
    if not presented or not hmac.compare_digest(presented, analyst.csrf_token):
        raise UiRefusal(403, "the form's CSRF token is missing or stale; reload the page")
    return analyst


FormAnalyst = Annotated[Analyst, Depends(form_analyst)]


def deciding_analyst(analyst: FormAnalyst) -> Analyst:
    """A form post from an analyst whose key may change state (scope `write`)."""
    if not analyst.can_decide:
        raise UiRefusal(
            403, f"key {analyst.name!r} has scopes {list(analyst.scopes)}; deciding needs 'write'"
        )
    return analyst


Decider = Annotated[Analyst, Depends(deciding_analyst)]
