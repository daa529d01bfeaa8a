"""Evidence: one by id, or a query by dataset/time, by failure signature, or by run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from signal_factory.api.auth import require_reader
from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["evidence"])


@router.get("/evidence", summary="Evidence by dataset (+ since/until/result), by signature (+ dataset) or by run")
def query_evidence(service: Service, dataset: str | None = None,
                   signature: Annotated[str | None, Query(description="Reason code, e.g. MISSING_FIELD:customer_id")]
                   = None, run: str | None = None,
                   since: Annotated[str | None, Query(description="ISO-8601 event time, inclusive")] = None,
                   until: Annotated[str | None, Query(description="ISO-8601 event time, exclusive")] = None,
                   result: Annotated[str | None, Query(description="PASS, WARN or FAIL")] = None,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    return json_response(service.evidence(dataset=dataset, signature=signature, run=run, since=since, until=until,
                                          result=result, limit=limit))


@router.get("/evidence/{evidence_id}", summary="One evidence record")
def get_evidence(evidence_id: str, service: Service) -> Response:
    return json_response(service.evidence_one(evidence_id))


@router.get("/evidence/{evidence_id}/payload", dependencies=[Depends(require_reader)],
            summary="The record's payload as stored with its evidence (PII-redacted), inline or from the payload "
            "store; needs the read token (SIGNAL_FACTORY_API_READ_TOKEN) or the write token",
            responses={404: {"description": "no such evidence, or no payload kept for it",
                             "content": {"application/problem+json": {}}}})
def get_evidence_payload(evidence_id: str, service: Service) -> Response:
    return Response(service.evidence_payload(evidence_id), media_type="application/json")


@router.get("/traces/{trace_id}", summary="The OTLP spans kept of one trace (producer and error spans), earliest "
            "first; empty when none were kept")
def get_trace(trace_id: str, service: Service,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    return json_response(service.trace_spans(trace_id.lower(), limit=limit))
