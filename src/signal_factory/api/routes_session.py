"""Sign in / out of the web UI with a named user (see api/session.py); machines keep the API token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request, Response
from pydantic import BaseModel, Field

from signal_factory.api.deps import json_response
from signal_factory.api.session import COOKIE, SESSION_S, Sessions, Users

router = APIRouter(prefix="/api/v1", tags=["session"])


class SignIn(BaseModel):
    name: str = Field(min_length=1)
    password: str = Field(min_length=1)


@router.get("/session", summary="Who is signed in (user null if nobody), and whether sign-in is configured")
def who(request: Request) -> Response:
    users: Users | None = request.app.state.users
    sessions: Sessions = request.app.state.sessions
    return json_response({"user": sessions.user(request.cookies.get(COOKIE)), "sign_in": users is not None,
                          "token_writes": request.app.state.token is not None})


@router.post("/session", summary="Sign in: sets an HttpOnly session cookie", status_code=204)
def sign_in(request: Request, body: Annotated[SignIn, Body()]) -> Response:
    users: Users | None = request.app.state.users
    if users is None:
        raise HTTPException(404, "sign-in is not configured on this server: start `serve --users users.yaml`")
    if not users.check(body.name, body.password):
        raise HTTPException(401, "wrong name or password")
    cookie, _ = request.app.state.sessions.issue(body.name)
    response = Response(status_code=204)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_S, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.delete("/session", summary="Sign out", status_code=204)
def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
