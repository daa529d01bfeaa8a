"""Mute / snooze a dataset or a failure signature (pages stop; incidents still open and show the mute)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from signal_factory.api.auth import BY_NOTE, actor, require_writer
from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["mutes"])


class MuteBody(BaseModel):
    kind: Literal["dataset", "signature"] = Field(description="What to mute")
    target: str = Field(min_length=1, description="Dataset URN, or failure signature (MISSING_FIELD:customer_id)")
    duration: str = Field(pattern=r"^\s*\d+\s*(ms|s|m|h|d)\s*$", description="How long: 30m, 2h, 1d (at most 30d)")
    reason: str = Field(min_length=1, description="Why; shown on the incident")
    by: str | None = Field(default=None, min_length=1, description=f"Who mutes {BY_NOTE}")


class CancelBody(BaseModel):
    by: str | None = Field(default=None, min_length=1, description=f"Who cancels {BY_NOTE}")


@router.get("/mutes", summary="Mutes, newest first (active ones by default)")
def list_mutes(service: Service, all: Annotated[bool, Query(description="Include expired and cancelled")]
               = False) -> Response:
    return json_response(service.mutes(active_only=not all))


@router.post("/mutes", summary="Mute a dataset or a signature for a while", status_code=201,
             dependencies=[Depends(require_writer)])
async def add_mute(body: Annotated[MuteBody, Body()], service: Service, request: Request) -> Response:
    mute = await run_in_threadpool(service.add_mute, body.kind, body.target, body.duration, body.reason,
                                   actor(request, body.by))
    return json_response(mute, status_code=201)


@router.post("/mutes/{mute_id}/cancel", summary="End a mute now", dependencies=[Depends(require_writer)])
async def cancel_mute(mute_id: str, body: Annotated[CancelBody, Body()], service: Service,
                      request: Request) -> Response:
    return json_response(await run_in_threadpool(service.cancel_mute, mute_id, actor(request, body.by)))
