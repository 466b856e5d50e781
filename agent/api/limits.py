"""Request body size limit (413), enforced while the body streams in, before it is parsed."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.api.errors import error_response


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, received: int) -> None:
        super().__init__(413, f"request body is {received}+ bytes; the limit is {limit} bytes")


class BodySizeLimit:
    """ASGI middleware: refuse a body over `max_bytes`, by Content-Length or by counting chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Outside the routes no exception handler runs, so answer here.
            too_large = BodyTooLarge(self.max_bytes, int(declared))
            response = error_response(413, "payload_too_large", str(too_large.detail))
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes, received)
            return message

        await self.app(scope, counting_receive, send)
