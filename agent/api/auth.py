"""API-key authentication: `Authorization: Bearer <key>` looked up by sha256; scopes per route."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.api.errors import ApiError
from agent.settings import ApiKey, Settings, get_settings

_bearer = HTTPBearer(auto_error=False, description="An API key configured in settings.api_keys")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def hash_key(key: str) -> str:
    """The sha256 hex digest under which a key is configured."""
    return hashlib.sha256(key.encode()).hexdigest()


def find_key(settings: Settings, presented: str) -> ApiKey | None:
    """The configured key whose digest matches, compared in constant time."""
    digest = hash_key(presented)
    found = None
    for key in settings.api_keys:
        if hmac.compare_digest(key.sha256.lower(), digest):
            found = key
    return found


def require_scope(scope: str) -> Callable[..., Coroutine[Any, Any, ApiKey]]:
    """A dependency that returns the caller's key, or raises 401/403."""

    async def authorized_key(
        settings: Annotated[Settings, Depends(get_settings)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "unauthorized", "missing 'Authorization: Bearer <key>'", _CHALLENGE)
        key = find_key(settings, credentials.credentials)
        if key is None:
            raise ApiError(401, "unauthorized", "unknown API key", _CHALLENGE)
        if scope not in key.scopes:
            raise ApiError(
                403,
                "forbidden",
                f"key {key.name!r} has scopes {key.scopes}; this route needs {scope!r}",
            )
        return key

    return authorized_key


ReadKey = Annotated[ApiKey, Depends(require_scope("read"))]
WriteKey = Annotated[ApiKey, Depends(require_scope("write"))]
