"""Writes that feed the pipeline: records, evidence made elsewhere, deployment markers, S3 object
notifications (bearer token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from signal_factory.api.auth import require_writer
from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["ingest"], dependencies=[Depends(require_writer)])


def _body_doc(what: str, example: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}, "example": example},
               "application/x-ndjson": {"schema": {"type": "string"}, "description": f"{what}, one per line"}}
    return {"requestBody": {"required": True, "description": f"{what}: a JSON array, or JSON lines",
                            "content": content}}


_RECORD = {"topic": "raw.orders.events", "timestamp": "2024-01-15T10:06:00Z",
           "headers": {"x-obs-producer-service": "orders-svc"}, "key": "ORD-1", "value": {"order_id": "ORD-1"}}
_MARKER = {"service": "orders-svc", "version": "v3.18", "at": "2024-01-15T10:30:00Z", "commit": "abc1234"}


@router.post("/records", summary="Run records (plain or kcat -J form) through enforce -> signals -> incidents; "
             "answers one result per record (evidence id, verdict, reason codes)",
             openapi_extra=_body_doc("records", [_RECORD]))
async def post_records(request: Request, service: Service) -> Response:
    body = await request.body()
    return json_response(await run_in_threadpool(service.ingest_records, body))


@router.post("/evidence", summary="Store evidence made elsewhere (e.g. Spark) and feed it to the signal engines",
             openapi_extra=_body_doc("evidence (urn:schema:evidence:2)", []))
async def post_evidence(request: Request, service: Service) -> Response:
    body = await request.body()
    return json_response(await run_in_threadpool(service.ingest_evidence, body))


@router.post("/deployments", summary="Record deployment markers in the causal graph",
             openapi_extra=_body_doc("deployment markers (one object, an array, or lines)", [_MARKER]))
async def post_deployments(request: Request, service: Service) -> Response:
    body = await request.body()
    return json_response(await run_in_threadpool(service.add_deployments, body))


_S3_EVENT = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "eventTime": "2024-01-15T10:00:00Z", "s3": {"bucket": {"name": "landing"},
                                 "object": {"key": "orders/2024/01/15/part-0.jsonl", "eTag": "9b2cf535f27731c9"}}}]}


@router.post("/ingest/s3-notifications",
             summary="Ingest the objects an S3 event notification (or SNS envelope, SQS message, EventBridge "
             "`Object Created` event) announces: one evidence per row, through the five gates",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}, "example": _S3_EVENT}}}})
async def post_s3_notification(request: Request, service: Service) -> Response:
    body = await request.body()
    return json_response(await run_in_threadpool(service.ingest_s3_notification, body))
