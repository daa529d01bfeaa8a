"""The API's last-resort error boundary: an unexpected exception becomes a problem+json 500, never a
plain-text page, and is logged without its message.

The message of an arbitrary exception can quote what the request carried (a record value, an SQL
parameter), so neither the answer nor the log line repeats it: the client gets an error id, the log
gets the same id, the exception type and the frames (file, line, function) where it happened.
Expected failures keep their own handlers (`ApiError` -> 4xx, `StoreFailedError` -> 503).
"""

from __future__ import annotations

import logging
import secrets
import traceback
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_factory.api.problems import send_problem

log = logging.getLogger(__name__)


def error_id() -> str:
    return f"err-{secrets.token_hex(6)}"


def frames(exc: BaseException, limit: int = 8) -> str:
    """Where it happened, innermost last, without the exception's message or any local value."""
    tb = traceback.extract_tb(exc.__traceback__)[-limit:]
    return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(tb))


def problem(eid: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Internal Server Error", "status": 500,
            "detail": f"the server failed on this request ({eid}); the error is logged under this id "
                      "without the request's values. Retry; if it fails again, report the id",
            "error_id": eid}


class ErrorBoundaryMiddleware:
    """Pure ASGI middleware (no response buffering): catches what the routes and handlers let through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # the boundary: anything a route did not expect
            eid = error_id()
            log.error("request %s %s failed (%s): %s at %s", scope.get("method", "?"), scope.get("path", "?"),
                      eid, type(exc).__name__, frames(exc))
            if started:  # too late to answer; the server closes the connection
                return
            await send_problem(send, problem(eid))
