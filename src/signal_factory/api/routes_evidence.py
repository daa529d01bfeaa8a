"""Evidence: one by id, or a query by dataset/time, by failure signature, or by run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from signal_factory.api.auth import require_reader
from signal_factory.api.deps import Service, json_response
from signal_factory.api.problems import BadRequestError

router = APIRouter(prefix="/api/v1", tags=["evidence"])


@router.get("/evidence", summary="Evidence by dataset (+ since/until/result), by signature (+ dataset) or by run; "
            "with `order` (or `producer`, `cursor`): one page of the evidence browser")
def query_evidence(service: Service, dataset: str | None = None,
                   signature: Annotated[str | None, Query(description="Reason code, e.g. MISSING_FIELD:customer_id")]
                   = None, run: str | None = None,
                   since: Annotated[str | None, Query(description="ISO-8601 event time, inclusive")] = None,
                   until: Annotated[str | None, Query(description="ISO-8601 event time, exclusive")] = None,
                   result: Annotated[str | None, Query(description="PASS, WARN or FAIL")] = None,
                   producer: Annotated[str | None, Query(description="Producing service (`producer.id`); "
                                                                     "answers a page")] = None,
                   order: Annotated[str | None, Query(description="`newest` or `oldest` first: answers a page "
                                                                  "`{items, total, next_cursor, order}` where every "
                                                                  "filter is optional and combinable")] = None,
                   cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    if order is not None or producer is not None or cursor is not None:
        if run is not None:
            raise BadRequestError("`run` cannot be combined with `order`, `producer` or `cursor`; "
                                  "ask `?run=<run id>` alone")
        return json_response(service.evidence_page(dataset=dataset, signature=signature, producer=producer,
                                                   result=result, since=since, until=until, cursor=cursor,
                                                   order=order or "newest", limit=limit))
    # The original answer (a JSON list, oldest first), unchanged for existing callers.
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
