"""`BodyLimitMiddleware`: 413 for request bodies over a byte limit, by Content-Length and while streaming."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Pure ASGI: a declared Content-Length over the limit is refused before the app runs; a chunked
    body is counted as it arrives and refused as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body_bytes:
                    await self._refuse(send, f"Content-Length {value.decode('latin-1')!r}")
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLargeError:
            if not started:
                await self._refuse(send, f"a streamed body of more than {received:,} bytes")

    async def _refuse(self, send: Send, what: str) -> None:
        detail = (f"request body too large: {what}; the limit is {self.max_body_bytes:,} bytes "
                  "(split the upload into smaller requests)")
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
