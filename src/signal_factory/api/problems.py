"""Errors the API maps to HTTP statuses; each message says what was wrong and how to fix it."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

from signal_factory.errors import SignalFactoryError

PROBLEM_JSON = b"application/problem+json"


class ApiError(SignalFactoryError):
    """An API request that cannot be served; `status` is the HTTP status it maps to."""

    status = 400


class BadRequestError(ApiError):
    """The request's parameters or body are wrong."""

    status = 400


class NotFoundError(ApiError):
    """The thing asked for does not exist."""

    status = 404


class ConflictError(ApiError):
    """The request is valid but the resource's state does not allow it."""

    status = 409


class UpstreamUnavailableError(ApiError):
    """Something this request needs (e.g. the S3 endpoint) cannot be reached; retry later."""

    status = 503


async def send_problem(send: Send, problem: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer an RFC 9457 problem+json over raw ASGI (for middleware that runs outside FastAPI's handlers)."""
    body = json.dumps(problem).encode()
    await send({"type": "http.response.start", "status": problem["status"],
                "headers": [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
