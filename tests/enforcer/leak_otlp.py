"""The leak corpus for OTLP/HTTP trace exports (`POST /v1/traces`): each channel's PII values (every
written form) in one span field a producer's tracing controls -- the resource's service.name and
service.version, the span name, the status message, attribute and event values, the messaging
destination. Every span is an ERROR Kafka producer span on the corpus records' trace id, so it is kept,
joins the evidence (`producing_span`, `error_spans`) and its version becomes an `otel` deployment hint.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, Status

from tests.enforcer.leak_corpus import BASE_HEADERS, CHANNELS, INFLOW_CHANNELS, OTLP_CHANNELS, TOPIC, pii_for

SERVICE_NAME, SERVICE_VERSION, SPAN_NAME, STATUS_MESSAGE, ATTRIBUTES, DESTINATION = OTLP_CHANNELS
TRACE_ID = BASE_HEADERS["x-obs-trace-id"]
_START_NS = 1_705_312_560_000_000_000  # 2024-01-15T09:56:00Z, inside the corpus window


def forms(channel: str) -> Iterator[str]:
    """Every written form of the channel's values."""
    number = len(CHANNELS) + len(INFLOW_CHANNELS) + OTLP_CHANNELS.index(channel)
    for pii in pii_for(number):
        for form in pii.forms:
            yield str(form)


def _kv(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def _span(n: int, batch: int, *, name: str = f"{TOPIC} publish", message: str = "broker answered NOT_ENOUGH_REPLICAS",
          topic: str = TOPIC, extra: str | None = None) -> Span:
    attrs = [_kv("messaging.system", "kafka"), _kv("messaging.destination.name", topic),
             _kv("messaging.destination", topic), _kv("messaging.operation.type", "publish"),
             _kv("messaging.destination.partition.id", "0")]
    events = []
    if extra is not None:
        attrs += [_kv("messaging.message.id", extra), _kv("customer.ssn", extra), _kv(extra, extra)]
        events = [Span.Event(time_unix_nano=_START_NS, name=f"retry {extra}", attributes=[_kv("detail", extra)])]
    start = _START_NS + n * 1_000_000_000
    return Span(trace_id=bytes.fromhex(TRACE_ID), span_id=(batch * 10_000 + n + 1).to_bytes(8, "big"), name=name,
                kind=Span.SPAN_KIND_PRODUCER, start_time_unix_nano=start, end_time_unix_nano=start + 5_000_000,
                attributes=attrs, events=events, status=Status(code=Status.STATUS_CODE_ERROR, message=message))


def _resource(service: str, version: str, spans: list[Span]) -> ResourceSpans:
    rs = ResourceSpans()
    rs.resource.attributes.extend([_kv("service.name", service), _kv("service.version", version)])
    rs.scope_spans.add().spans.extend(spans)
    return rs


def export_request(batch: int) -> bytes:
    """One protobuf `ExportTraceServiceRequest` with a span per channel x form; `batch` keeps span ids
    distinct between exports (the store keeps a span id once)."""
    out: list[ResourceSpans] = []
    n = 0
    for v in forms(SERVICE_NAME):
        out.append(_resource(v, "v3.17", [_span(n, batch)]))
        n += 1
    for v in forms(SERVICE_VERSION):
        out.append(_resource("orders-svc", v, [_span(n, batch)]))
        n += 1
    spans = []
    for v in forms(SPAN_NAME):
        spans.append(_span(n, batch, name=f"publish {v}"))
        n += 1
    for v in forms(STATUS_MESSAGE):
        spans.append(_span(n, batch, message=f"send failed for {v}"))
        n += 1
    for v in forms(ATTRIBUTES):
        spans.append(_span(n, batch, extra=v))
        n += 1
    for v in forms(DESTINATION):
        spans.append(_span(n, batch, topic=v if n % 2 else f"raw.{v}"))
        n += 1
    out.append(_resource("orders-svc", "v3.16", spans))
    return ExportTraceServiceRequest(resource_spans=out).SerializeToString()


def raw_text() -> str:
    """The export as text (OTLP/JSON, which the control search looks for every channel in)."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(export_request(0))
    return json_format.MessageToJson(request)
