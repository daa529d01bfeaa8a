"""What a trace export gives us: the spans that join evidence or explain a failure, and the service
versions seen. Everything else in the export is counted and dropped (spans are not stored wholesale).

Kept (`SpanRow`, one per span):

* producer spans -- `messaging.system=kafka`, a producer (`kind=PRODUCER`, or a `publish`/`send`
  operation): they join evidence by trace id and by topic/partition/offset (messaging semantic
  conventions, current and older attribute names);
* error spans -- status `ERROR`, any kind: cited near the first failure of an incident.

`versions` maps each (service.name, service.version) resource pair to the earliest span start seen
with it: a new version is a deployment hint (`graph/deployments.otel_hints`).

A span with a trace id that is not 16 bytes (or all zero), or a span id that is not 8 bytes, is
rejected (counted in the answer's `partial_success`). Producer-controlled strings pass the inflow
guard (`privacy/guard.py`): service, version and topic as tokens (as the record path guards a
producer's, so they join), operation name, status message and message id as text. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from signal_factory.model.spans import ERROR, PRODUCER, SpanRow
from signal_factory.privacy.guard import safe_text, safe_token

_KINDS = {Span.SPAN_KIND_UNSPECIFIED: "UNSPECIFIED", Span.SPAN_KIND_INTERNAL: "INTERNAL",
          Span.SPAN_KIND_SERVER: "SERVER", Span.SPAN_KIND_CLIENT: "CLIENT", Span.SPAN_KIND_PRODUCER: "PRODUCER",
          Span.SPAN_KIND_CONSUMER: "CONSUMER"}
_STATUS = {Status.STATUS_CODE_UNSET: "UNSET", Status.STATUS_CODE_OK: "OK", Status.STATUS_CODE_ERROR: "ERROR"}
#: Kinds that never publish (semconv: a producer is PRODUCER, or CLIENT/INTERNAL with a send operation).
_NEVER_PRODUCER = frozenset({Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CONSUMER})
_SEND_OPERATIONS = frozenset({"publish", "send", "create"})
#: Semantic-convention names, newest first (messaging semconv 1.24+ then the older ones).
_TOPIC = ("messaging.destination.name", "messaging.destination")
_PARTITION = ("messaging.destination.partition.id", "messaging.kafka.destination.partition")
_OFFSET = ("messaging.kafka.offset", "messaging.kafka.message.offset")
_OPERATION = ("messaging.operation.type", "messaging.operation")
_WANTED = frozenset({"messaging.system", "messaging.message.id", *_TOPIC, *_PARTITION, *_OFFSET, *_OPERATION})
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_STATUS_TEXT = 512


@dataclass
class Extracted:
    """What one export gave: `rows` to keep, `seen` spans in all, `rejected` spans and why (first reason)."""

    rows: list[SpanRow] = field(default_factory=list)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    seen: int = 0
    rejected: int = 0
    reason: str = ""


def _value(any_value: Any) -> Any:
    which = any_value.WhichOneof("value")
    return None if which is None else getattr(any_value, which)


def _first(attrs: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _resource(attributes: Any) -> tuple[str, str | None]:
    service, version = "unknown_service", None
    for kv in attributes:
        if kv.key == "service.name":
            service = str(_value(kv.value))
        elif kv.key == "service.version":
            version = str(_value(kv.value))
    return safe_token(service) if service else "unknown_service", safe_token(version) if version else None


def extract(request: ExportTraceServiceRequest) -> Extracted:
    """The kept rows, the versions seen and the rejections of one export request."""
    out = Extracted()
    for rs in request.resource_spans:
        service, version = _resource(rs.resource.attributes)
        earliest: int | None = None
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.seen += 1
                trace_id, span_id = span.trace_id, span.span_id
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE or len(span_id) != 8 or span_id == _ZERO_SPAN:
                    out.rejected += 1
                    out.reason = out.reason or ("a span has an invalid trace id or span id (trace ids are 16 bytes, "
                                                "span ids 8, neither all zero)")
                    continue
                start_ns = span.start_time_unix_nano
                start_ms = start_ns // 1_000_000
                if earliest is None or start_ms < earliest:
                    earliest = start_ms
                row = _keep(span, trace_id, span_id, start_ns, service, version)
                if row is not None:
                    out.rows.append(row)
        if version is not None and earliest is not None:
            pair = (service, version)
            have = out.versions.get(pair)
            out.versions[pair] = earliest if have is None else min(have, earliest)
    return out


def _keep(span: Span, trace_id: bytes, span_id: bytes, start_ns: int, service: str,
          version: str | None) -> SpanRow | None:
    # Hot path (every span of every export; each field read on a upb message builds a Python object, so
    # each is read once): a server or consumer span that did not fail is dropped before its attributes
    # are read; otherwise only the few wanted attributes are decoded.
    kind = span.kind
    status = span.status
    status_code = status.code
    if status_code != Status.STATUS_CODE_ERROR and kind in _NEVER_PRODUCER:
        return None
    attrs: dict[str, Any] = {}
    for kv in span.attributes:
        key = kv.key
        if key in _WANTED:
            value = kv.value
            which = value.WhichOneof("value")
            attrs[key] = getattr(value, which) if which else None
    producer = attrs.get("messaging.system") == "kafka" and (
        kind == Span.SPAN_KIND_PRODUCER or str(_first(attrs, _OPERATION) or "").lower() in _SEND_OPERATIONS)
    if not producer and status_code != Status.STATUS_CODE_ERROR:
        return None
    end_ns = span.end_time_unix_nano
    name, message, parent = span.name, status.message, span.parent_span_id
    topic = _first(attrs, _TOPIC) if producer else None
    message_id = attrs.get("messaging.message.id") if producer else None
    return SpanRow(
        trace_id=trace_id.hex(), span_id=span_id.hex(), role=PRODUCER if producer else ERROR,
        service=service, service_version=version, operation=safe_text(name) if name else "",
        kind=_KINDS.get(kind, "UNSPECIFIED"), status=_STATUS.get(status_code, "UNSET"), start_ms=start_ns // 1_000_000,
        duration_ms=(max(end_ns, start_ns) - start_ns) / 1e6, parent_span_id=parent.hex() if parent else None,
        status_message=safe_text(message, limit=_STATUS_TEXT) if message else None,
        topic=safe_token(str(topic)) if topic else None,
        partition=_int(_first(attrs, _PARTITION)) if producer else None,
        offset=_int(_first(attrs, _OFFSET)) if producer else None,
        message_id=safe_text(str(message_id)) if message_id else None)
