"""Bearer-token checks. Write routes take the write token (none configured: the server is read-only);
routes that return record content (stored payloads) take the read token or the write token (neither
configured: they are not served)."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request

from signal_factory.api.session import COOKIE, CSRF_HEADER, Sessions
from signal_factory.settings import Secret

BY_NOTE = "(required with the API token; a signed-in user's name is used instead)"
READ_ONLY = ("this server is read-only: start it with SIGNAL_FACTORY_API_TOKEN set to accept writes")


NO_READER = ("this server serves no record content: start it with SIGNAL_FACTORY_API_READ_TOKEN (readers) or "
             "SIGNAL_FACTORY_API_TOKEN set")


def require_writer(request: Request) -> None:
    """FastAPI dependency: a signed-in user (session cookie + `X-SF-Request` header), or the bearer token.
    403 when the server takes no writes at all, 401 (with WWW-Authenticate) for a missing or wrong token."""
    user = session_user(request)
    if user is not None and request.headers.get(CSRF_HEADER) == "1" and "authorization" not in request.headers:
        request.state.actor = user
        return
    token: Secret | None = request.app.state.token
    if token is None:
        if request.app.state.users is not None:
            raise HTTPException(401, "sign in first (or send the API token)",
                                headers={"WWW-Authenticate": "Bearer"})
        raise HTTPException(403, READ_ONLY)
    _check(request, [token])


def require_reader(request: Request) -> None:
    """FastAPI dependency for record content: the read token or the write token; 403 when neither is set."""
    tokens = [t for t in (getattr(request.app.state, "read_token", None), request.app.state.token) if t is not None]
    if not tokens:
        raise HTTPException(403, NO_READER)
    _check(request, tokens)


def _check(request: Request, tokens: list[Secret]) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(401, "missing bearer token: send `Authorization: Bearer <token>`",
                            headers={"WWW-Authenticate": "Bearer"})
    # Exact bytes: a token with stray whitespace or another case is a different token, never trimmed.
    sent = given.encode()
    matches = [secrets.compare_digest(sent, t.reveal().encode()) for t in tokens]  # every token compared
    if not any(matches):
        raise HTTPException(401, "wrong bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def session_user(request: Request) -> str | None:
    sessions: Sessions | None = getattr(request.app.state, "sessions", None)
    return sessions.user(request.cookies.get(COOKIE)) if sessions is not None else None


def actor(request: Request, typed: str | None) -> str:
    """Who did it: the signed-in name when the write came with a session (never a typed one), else `typed`
    (required then: a 422 naming the body field, like any other missing field)."""
    signed_in: str | None = getattr(request.state, "actor", None)
    if signed_in is not None:
        return signed_in
    if not typed:
        raise HTTPException(422, "body field `by`: who does it is required with the API token (or sign in)")
    return typed
