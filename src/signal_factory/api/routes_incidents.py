"""Incidents (list, show, acknowledge, resolve), their root cause, and drift notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from signal_factory.api.auth import BY_NOTE, actor, require_writer
from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["incidents"])


class AckBody(BaseModel):
    by: str | None = Field(default=None, min_length=1, description=f"Who acknowledges {BY_NOTE}")


class ResolveBody(BaseModel):
    by: str | None = Field(default=None, min_length=1, description=f"Who resolves {BY_NOTE}")
    note: str | None = Field(default=None, description="Resolution note")


@router.get("/incidents", summary="Incidents, newest first")
def list_incidents(service: Service, status: Annotated[str | None, Query(description="OPEN, ACKNOWLEDGED, RESOLVED")]
                   = None, dataset: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    return json_response(service.incidents_view(status=status, dataset=dataset, limit=limit))


@router.get("/notices", summary="Drift notices (new failure signatures that paged no one), newest first")
def list_notices(service: Service, dataset: Annotated[str | None, Query(description="Dataset URN")] = None,
                 since: Annotated[str | None, Query(description="ISO-8601 event time: notices whose window "
                                                                  "ends after it")] = None,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    return json_response(service.notices(dataset=dataset, since=since, limit=limit))


@router.get("/incidents/{incident_id}", summary="One incident")
def get_incident(incident_id: str, service: Service) -> Response:
    return json_response(service.incident_view(incident_id))


@router.post("/incidents/{incident_id}/ack", summary="OPEN -> ACKNOWLEDGED", dependencies=[Depends(require_writer)])
async def ack_incident(incident_id: str, body: Annotated[AckBody, Body()], service: Service,
                       request: Request) -> Response:
    return json_response(await run_in_threadpool(service.acknowledge, incident_id, actor(request, body.by)))


@router.post("/incidents/{incident_id}/resolve", summary="OPEN/ACKNOWLEDGED -> RESOLVED",
             dependencies=[Depends(require_writer)])
async def resolve_incident(incident_id: str, body: Annotated[ResolveBody, Body()], service: Service,
                           request: Request) -> Response:
    return json_response(await run_in_threadpool(service.resolve, incident_id, actor(request, body.by), body.note))


@router.get("/rca/incidents/{incident_id}", summary="Root-cause report of an incident", tags=["rca"])
def rca_incident(incident_id: str, service: Service) -> Response:
    return Response(service.rca(incident_id=incident_id), media_type="application/json")


@router.get("/rca/signatures/{signature:path}", summary="Root-cause report of a failure signature", tags=["rca"])
def rca_signature(signature: str, service: Service, dataset: str | None = None) -> Response:
    return Response(service.rca(signature=signature, dataset=dataset), media_type="application/json")
