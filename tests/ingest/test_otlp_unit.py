"""OTLP spans without a server: what an export keeps and drops, how spans join evidence, and how a new
`service.version` becomes a deployment the RCA ranks like an inferred one while a marker still wins."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph.deployments import DeploymentMarker
from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.writer import GraphWriter
from signal_factory.ingest.otlp.decode import JSON, PROTOBUF, OtlpBodyError, decode_request, media_type
from signal_factory.ingest.otlp.join import producing_span, trace_context
from signal_factory.ingest.otlp.repo import MemorySpanRepo
from signal_factory.ingest.otlp.spans import extract
from signal_factory.model.evidence import Evidence, Otel, Source, Validation
from signal_factory.model.spans import ERROR, PRODUCER
from signal_factory.rca.lookups import deployment

T0 = 1_705_312_500_000  # 2024-01-15T09:55:00Z


def _kv(key: str, value: Any) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def _span(n: int, *, kind: int = Span.SPAN_KIND_INTERNAL, error: bool = False, trace: int = 1,
          start_ms: int = T0, **attrs: Any) -> Span:
    return Span(trace_id=trace.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), name=f"op-{n}", kind=kind,
                start_time_unix_nano=start_ms * 1_000_000, end_time_unix_nano=(start_ms + 4) * 1_000_000,
                attributes=[_kv(k.replace("_", "."), v) for k, v in attrs.items()],
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET))


def _export(*spans: Span, service: str = "orders-svc", version: str | None = None) -> ExportTraceServiceRequest:
    resource = [_kv("service.name", service)] + ([_kv("service.version", version)] if version else [])
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])
    rs.resource.attributes.extend(resource)
    return ExportTraceServiceRequest(resource_spans=[rs])


def test_extract_keeps_producer_and_error_spans_only() -> None:
    """Kafka producer spans (current and older semconv names) and error spans are kept; a consumer span,
    a non-Kafka producer and a plain span are counted and dropped; bad ids are rejected."""
    bad = _span(9)
    bad.trace_id = bytes(16)
    found = extract(_export(
        _span(1, kind=Span.SPAN_KIND_PRODUCER, messaging_system="kafka", messaging_destination_name="raw.orders",
              **{"messaging.destination.partition.id": "3"}, messaging_kafka_offset=77),
        _span(2, kind=Span.SPAN_KIND_CLIENT, messaging_system="kafka", messaging_destination="raw.orders",
              messaging_operation="publish", **{"messaging.kafka.destination.partition": 1},
              **{"messaging.kafka.message.offset": 5}),
        _span(3, kind=Span.SPAN_KIND_CONSUMER, messaging_system="kafka", messaging_destination_name="raw.orders"),
        _span(4, kind=Span.SPAN_KIND_PRODUCER, messaging_system="rabbitmq"),
        _span(5), _span(6, error=True), bad))
    assert (found.seen, found.rejected) == (7, 1)
    got = {r.span_id[-1]: (r.role, r.topic, r.partition, r.offset) for r in found.rows}
    assert got == {"1": (PRODUCER, "raw.orders", 3, 77), "2": (PRODUCER, "raw.orders", 1, 5),
                   "6": (ERROR, None, None, None)}


def test_extract_guards_strings_and_reports_earliest_version_start() -> None:
    """A PII-shaped service name and operation are stored as stand-ins; a version maps to its earliest span."""
    req = _export(_span(1, error=True, start_ms=T0 + 500), _span(2, start_ms=T0), service="108-18-1008",
                  version="v2")
    req.resource_spans[0].scope_spans[0].spans[0].name = "charge 4000316789012343"
    found = extract(req)
    [row] = found.rows
    assert row.service.startswith("redacted-")
    assert "4000316789012343" not in row.operation
    assert found.versions == {(row.service, "v2"): T0}


def test_json_needs_hex_ids_and_content_type_is_checked() -> None:
    """OTLP JSON ids are read as hex (not base64); other media types are a 415."""
    body = (b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"000000000000000000000000000000ff",'
            b'"spanId":"00000000000000aa","name":"x","status":{"code":2}}]}]}]}')
    span = decode_request(body, JSON).resource_spans[0].scope_spans[0].spans[0]
    assert (span.trace_id.hex(), span.span_id.hex()) == ("000000000000000000000000000000ff", "00000000000000aa")
    assert media_type("application/x-protobuf; charset=binary") == PROTOBUF
    with pytest.raises(OtlpBodyError) as info:
        media_type("application/grpc")
    assert info.value.status == 415


def _evidence(trace: str | None, topic: str = "raw.orders", partition: int = 3, offset: int | None = 77) -> Evidence:
    return Evidence(evidence_id="evd-1", timestamp="2024-01-15T09:55:00Z", dataset_urn="urn:dp:orders:created",
                    validation=Validation(result="FAIL", gates=[], failed_gates=[], reason_codes=[]),
                    source=Source(topic=topic, partition=partition, offset=offset),
                    otel=Otel(trace_id=trace) if trace else None)


def test_join_by_position_then_by_trace() -> None:
    """The span that wrote the record's exact offset wins; without one, the trace's producer span on the
    record's topic; error spans of the trace are listed beside it; retention drops old spans."""
    repo = MemorySpanRepo()
    repo.add_many(extract(_export(
        _span(1, kind=Span.SPAN_KIND_PRODUCER, trace=7, messaging_system="kafka",
              messaging_destination_name="raw.orders", **{"messaging.destination.partition.id": "3"},
              messaging_kafka_offset=77),
        _span(2, kind=Span.SPAN_KIND_PRODUCER, trace=8, messaging_system="kafka",
              messaging_destination_name="raw.orders"),
        _span(3, trace=8, error=True, start_ms=T0 + 1))).rows)
    by_position = producing_span(repo, _evidence(trace=None))
    assert by_position is not None
    assert by_position.span_id.endswith("1")
    context = trace_context(repo, _evidence(trace=f"{8:032x}", offset=None))
    assert context["producing_span"]["span_id"].endswith("2")
    assert [s["span_id"][-1] for s in context["error_spans"]] == ["3"]
    assert trace_context(repo, _evidence(trace=f"{8:032x}", topic="other", offset=None)) == {
        "error_spans": context["error_spans"]}
    assert repo.purge_older_than(T0 + 1) == 2
    assert producing_span(repo, _evidence(trace=None)) is None


def test_span_versions_baseline_then_otel_deploy_then_marker_wins(control_plane: ControlPlane) -> None:
    """A service's first version is a baseline; a new one is a Deployment (source otel) that the RCA reads
    as inferred; a marker for it later takes over; a known deployment is confirmed, not replaced."""
    graph = MemoryGraphStore()
    writer = GraphWriter(graph, control_plane)
    assert writer.on_span_versions({("pay-svc", "v1"): T0}) == []
    assert writer.on_span_versions({("pay-svc", "v1"): T0 + 5, ("pay-svc", "v2"): T0 + 60_000}) == [
        "Deployment:pay-svc:v2"]
    node = graph.node("Deployment:pay-svc:v2")
    assert node is not None
    assert node.props["source"] == "otel"
    assert node.props["first_seen"] == "2024-01-15T09:56:00.000Z"
    assert deployment(node).inferred
    GraphWriter(graph, control_plane).write_deployments([DeploymentMarker(
        service="pay-svc", version="v2", at="2024-01-15T09:55:30Z", commit="abc1234")])
    assert GraphWriter(graph, control_plane).on_span_versions({("pay-svc", "v2"): T0 + 90_000}) == []
    marked = graph.node("Deployment:pay-svc:v2")
    assert marked is not None
    assert not deployment(marked).inferred
    assert (marked.props["source"], marked.props["deployed_at"]) == ("marker", "2024-01-15T09:55:30Z")
    assert graph.node("Deployment:pay-svc:v1") is None
