"""OTLP/HTTP trace export bodies -> `ExportTraceServiceRequest`, with the OpenTelemetry project's own
protobuf definitions (`opentelemetry-proto`), and the answer -> bytes of the same encoding.

Two encodings (OTLP 1.x, "OTLP/HTTP"): `application/x-protobuf` (binary protobuf) and
`application/json` (the protobuf JSON mapping, with one OTLP rule of its own: `traceId`, `spanId` and
`parentSpanId` are hex strings, not base64). gzip is undone before this, by `api/limits.py`.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from signal_factory.errors import SignalFactoryError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
#: OTLP JSON fields that hold ids as hex (everything else follows the protobuf JSON mapping).
_HEX_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


class OtlpBodyError(SignalFactoryError):
    """The body is not an OTLP trace export of its declared type; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def media_type(content_type: str | None) -> str:
    """`PROTOBUF` or `JSON` for a Content-Type header; `OtlpBodyError` (415) for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, JSON):
        return kind
    raise OtlpBodyError(f"Content-Type {content_type!r} is not an OTLP encoding: send {PROTOBUF} or {JSON} "
                        "(what the OTLP/HTTP exporters send)", status=415)


def decode_request(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """The request in `body`, encoded as `kind` (from `media_type`); `OtlpBodyError` (400) if it is not one."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as e:
            raise OtlpBodyError(f"the body is not a protobuf ExportTraceServiceRequest: {e}") from e
        return request
    try:
        doc = msgspec.json.decode(body) if body.strip() else {}
    except msgspec.DecodeError as e:
        raise OtlpBodyError(f"the body is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise OtlpBodyError("the body is JSON but not an object: send {\"resourceSpans\": [...]}")
    try:
        _hex_ids_to_base64(doc)
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as e:
        raise OtlpBodyError(f"the body is not an OTLP JSON ExportTraceServiceRequest: {e}") from e
    return request


def _hex_ids_to_base64(doc: dict[str, Any]) -> None:
    """OTLP JSON ids are hex; the protobuf JSON mapping reads bytes as base64: convert in place."""
    for rs in _list(doc, "resourceSpans", "resource_spans"):
        for ss in _list(rs, "scopeSpans", "scope_spans"):
            for span in _list(ss, "spans"):
                _convert(span)
                for link in _list(span, "links"):
                    _convert(link)


def _list(obj: Any, *names: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    for name in names:
        value = obj.get(name)
        if isinstance(value, list):
            return value
    return []


def _convert(obj: Any) -> None:
    if not isinstance(obj, dict):
        return
    for name in _HEX_FIELDS:
        value = obj.get(name)
        if isinstance(value, str):
            try:
                obj[name] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError as e:
                raise ValueError(f"`{name}` {value[:40]!r} is not hex (OTLP JSON writes ids as hex)") from e


def encode_response(kind: str, rejected: int = 0, message: str = "") -> bytes:
    """ExportTraceServiceResponse in `kind`; `partial_success` set only when spans were rejected."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=rejected, error_message=message))
    if kind == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()
