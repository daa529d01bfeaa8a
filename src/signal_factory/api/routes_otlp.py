"""OTLP/HTTP: `POST /v1/traces` (the standard path the OpenTelemetry exporters and collectors post to),
protobuf or JSON, gzip (undone by `BodyLimitMiddleware`, within the same size limit), bearer token like
every write. Answers an `ExportTraceServiceResponse` in the request's encoding, with `partial_success`
when spans were rejected. See docs/otel.md."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from signal_factory.api.auth import require_writer
from signal_factory.api.deps import Service
from signal_factory.api.problems import ApiError
from signal_factory.ingest.otlp.decode import JSON, PROTOBUF, OtlpBodyError, encode_response, media_type

router = APIRouter(tags=["otlp"], dependencies=[Depends(require_writer)])
_BODY = {"requestBody": {"required": True, "description": "An OTLP ExportTraceServiceRequest",
                         "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                                     JSON: {"schema": {"type": "object"}}}}}


@router.post("/v1/traces", summary="OTLP/HTTP trace export (protobuf or JSON): keeps producer and error spans "
             "and reads service versions", openapi_extra=_BODY)
async def post_traces(request: Request, service: Service) -> Response:
    try:
        kind = media_type(request.headers.get("content-type"))
        body = await request.body()
        answer = await run_in_threadpool(service.ingest_traces, body, kind)
    except OtlpBodyError as e:
        err = ApiError(str(e))
        err.status = e.status
        raise err from e
    return Response(encode_response(kind, answer.rejected, answer.reason), media_type=kind)
