"""Bearer-token check for write routes. No token configured means the server is read-only."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request

from signal_factory.settings import Secret

READ_ONLY = ("this server is read-only: start it with SIGNAL_FACTORY_API_TOKEN set to accept writes")


def require_writer(request: Request) -> None:
    """FastAPI dependency: 403 when read-only, 401 (with WWW-Authenticate) for a missing or wrong token."""
    token: Secret | None = request.app.state.token
    if token is None:
        raise HTTPException(403, READ_ONLY)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(401, "missing bearer token: send `Authorization: Bearer <token>`",
                            headers={"WWW-Authenticate": "Bearer"})
    # Exact bytes: a token with stray whitespace or another case is a different token, never trimmed.
    if not secrets.compare_digest(given.encode(), token.reveal().encode()):
        raise HTTPException(401, "wrong bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
