"""OTLP/HTTP at the real server: the OpenTelemetry Python SDK and its OTLP/HTTP exporter export spans to
`/v1/traces`; producer spans join evidence, service versions become deployments, and the endpoint
keeps the write endpoints' auth and size limits."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

from signal_factory.rca.render import chain_lines
from signal_factory.rca.report import from_json

ORDERS = "urn:dp:orders:created"


class _TraceIds(IdGenerator):
    """Random span ids; the trace id of the next root span is chosen by the test (to match a record's)."""

    def __init__(self) -> None:
        self.next_trace: int | None = None
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return self.next_trace if self.next_trace is not None else self._random.generate_trace_id()


def _provider(url: str, token: str, resource: dict[str, Any], ids: IdGenerator | None = None) -> TracerProvider:
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"},
                                compression=Compression.Gzip, timeout=10)
    provider = TracerProvider(resource=Resource.create(resource), id_generator=ids or RandomIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _fail_evidence(url: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{url}/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 5}).json()
    assert len(found) >= 2
    return found


def test_sdk_producer_span_joins_evidence_by_position(api_server_token: tuple[str, str]) -> None:
    """A Kafka producer span exported by the SDK (protobuf, gzip) shows on the evidence of the record it wrote."""
    url, token = api_server_token
    ev = _fail_evidence(url)[0]
    src = ev["source"]
    provider = _provider(url, token, {"service.name": "orders-svc", "service.version": "v3.17"})
    tracer = provider.get_tracer("orders")
    with tracer.start_as_current_span(f"{src['topic']} publish", kind=SpanKind.PRODUCER, attributes={
            "messaging.system": "kafka", "messaging.destination.name": src["topic"],
            "messaging.destination.partition.id": str(src["partition"]), "messaging.kafka.offset": src["offset"],
            "messaging.operation.type": "publish"}) as span:
        span.set_status(Status(StatusCode.ERROR, "broker answered NOT_ENOUGH_REPLICAS"))
    assert provider.force_flush(10_000)
    provider.shutdown()
    got = httpx.get(f"{url}/api/v1/evidence/{ev['evidence_id']}").json()
    shown = got["producing_span"]
    assert (shown["service"], shown["operation"], shown["status"], shown["kind"]) == (
        "orders-svc", f"{src['topic']} publish", "ERROR", "PRODUCER")
    assert shown["offset"] == src["offset"]
    assert shown["partition"] == src["partition"]
    assert shown["status_message"] == "broker answered NOT_ENOUGH_REPLICAS"
    assert shown["duration_ms"] >= 0
    assert shown["service_version"] == "v3.17"
    assert got["evidence_id"] == ev["evidence_id"]
    assert got["validation"] == ev["validation"]


def test_sdk_span_joins_evidence_by_trace_id(api_server_token: tuple[str, str]) -> None:
    """A producer span without an offset joins the record carrying its trace id; an error span of the
    same trace is listed beside it, and spans of other traces are not."""
    url, token = api_server_token
    ev = _fail_evidence(url)[1]
    ids = _TraceIds()
    ids.next_trace = int(ev["otel"]["trace_id"], 16)
    provider = _provider(url, token, {"service.name": "orders-svc"}, ids)
    tracer = provider.get_tracer("orders")
    with tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as root:
        root.set_status(Status(StatusCode.ERROR, "validation failed"))
        with tracer.start_as_current_span("send", kind=SpanKind.PRODUCER, attributes={
                "messaging.system": "kafka", "messaging.destination.name": ev["source"]["topic"]}):
            pass
    ids.next_trace = None
    with tracer.start_as_current_span("other", kind=SpanKind.PRODUCER, attributes={
            "messaging.system": "kafka", "messaging.destination.name": ev["source"]["topic"]}):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()
    got = httpx.get(f"{url}/api/v1/evidence/{ev['evidence_id']}").json()
    assert got["producing_span"]["operation"] == "send"
    assert got["producing_span"]["trace_id"] == ev["otel"]["trace_id"]
    assert [s["operation"] for s in got["error_spans"]] == ["POST /orders"]


def test_sdk_new_service_version_is_an_otel_deployment(api_server_token: tuple[str, str]) -> None:
    """Spans from a version the service never showed make a Deployment (source otel, first seen); a
    version it already had (scenario 1's v3.17 marker) is confirmed, not replaced."""
    url, token = api_server_token
    for version in ("v3.17", "v3.19"):
        provider = _provider(url, token, {"service.name": "orders-svc", "service.version": version})
        with provider.get_tracer("orders").start_as_current_span("work"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    new = httpx.get(f"{url}/api/v1/graph/nodes/Deployment:orders-svc:v3.19", params={"depth": 1}).json()
    node = next(n for n in new["nodes"] if n["id"] == "Deployment:orders-svc:v3.19")
    assert node["props"]["source"] == "otel"
    assert node["props"]["inferred"] is True
    assert node["props"]["first_seen"] == node["props"]["deployed_at"]
    old = httpx.get(f"{url}/api/v1/graph/nodes/Deployment:orders-svc:v3.17", params={"depth": 0}).json()
    marker = next(n for n in old["nodes"] if n["id"] == "Deployment:orders-svc:v3.17")
    assert marker["props"]["source"] == "marker"
    assert "otel_first_seen" in marker["props"]


_JSON_EXPORT = {"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments-svc"}}]},
    "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "payments publish",
         "kind": 4, "startTimeUnixNano": "1705312500000000000", "endTimeUnixNano": "1705312500002500000",
         "attributes": [{"key": "messaging.system", "value": {"stringValue": "kafka"}},
                        {"key": "messaging.destination.name", "value": {"stringValue": "raw.payments"}},
                        {"key": "messaging.kafka.offset", "value": {"intValue": "42"}}],
         "status": {"code": 2, "message": "write to jane.doe@example.com failed"}},
        {"traceId": "not-hex", "spanId": "eee19b7ec3c1b175", "name": "broken"}]}]}]}


def test_json_encoding_hex_ids_and_partial_success(api_server_token: tuple[str, str]) -> None:
    """OTLP JSON (hex ids, gzip) is accepted; a span with a bad id is rejected in `partialSuccess`, the
    rest is kept, and PII in a span's status message is not stored."""
    url, token = api_server_token
    good = {"resourceSpans": [json.loads(json.dumps(_JSON_EXPORT["resourceSpans"][0]))]}
    good["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["traceId"] = "00" * 16  # valid hex, all zero: rejected
    r = httpx.post(f"{url}/v1/traces", content=gzip.compress(json.dumps(good).encode()),
                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                            "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    bad = httpx.post(f"{url}/v1/traces", json=_JSON_EXPORT, headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400
    assert "not hex" in bad.json()["detail"]
    [kept] = httpx.get(f"{url}/api/v1/traces/5B8EFFF798038103D269B633813FC60C").json()
    assert (kept["service"], kept["topic"], kept["offset"], kept["duration_ms"]) == ("payments-svc", "raw.payments",
                                                                                      42, 2.5)
    assert kept["start_ms"] == 1705312500000
    assert kept["kind"] == "PRODUCER"
    assert "jane.doe" not in kept["status_message"]
    assert kept["status_message"].startswith("redacted-")


def test_protobuf_answer_and_refusals(api_server_token: tuple[str, str]) -> None:
    """Protobuf is answered in protobuf; no token is a 401, a wrong Content-Type a 415, garbage a 400 and a
    gzip body inflating past the limit a 413, as on the other write endpoints."""
    url, token = api_server_token
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"}
    ok = httpx.post(f"{url}/v1/traces", content=b"", headers=auth)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(ok.content)
    assert not answer.HasField("partial_success")
    assert httpx.post(f"{url}/v1/traces", content=b"", headers={"Content-Type": "application/x-protobuf"}
                      ).status_code == 401
    assert httpx.post(f"{url}/v1/traces", content=b"x", headers={**auth, "Content-Type": "text/plain"}
                      ).status_code == 415
    assert httpx.post(f"{url}/v1/traces", content=b"\xff\xff\xff", headers=auth).status_code == 400
    bomb = gzip.compress(b"\x00" * 1_000_000)
    assert httpx.post(f"{url}/v1/traces", content=bomb, headers={**auth, "Content-Encoding": "gzip"}
                      ).status_code == 413


def test_rca_cites_the_producing_span_and_error_spans_near_the_first_failure(
        api_server_token: tuple[str, str]) -> None:
    """After spans arrive, INC-1's RCA evidence chain shows the span that produced its primary record and
    orders-svc's error spans shortly before the first failure (not an hour-old one, not another service's);
    the root cause itself is unchanged."""
    url, token = api_server_token
    before = httpx.get(f"{url}/api/v1/rca/incidents/INC-1").json()
    chain = before["evidence"]
    assert "producing_span" not in chain
    src = httpx.get(f"{url}/api/v1/evidence/{chain['primary_evidence_id']}").json()["source"]
    first_ns = int(datetime.fromisoformat(chain["first_failure"]).timestamp() * 1e9)
    orders = _provider(url, token, {"service.name": "orders-svc", "service.version": "v3.17"})
    tracer = orders.get_tracer("orders")
    with tracer.start_as_current_span("orders publish", kind=SpanKind.PRODUCER, attributes={
            "messaging.system": "kafka", "messaging.destination.name": src["topic"],
            "messaging.destination.partition.id": str(src["partition"]), "messaging.kafka.offset": src["offset"]}):
        pass
    for name, ago_s in (("build order", 30), ("old failure", 3600)):
        span = tracer.start_span(name, start_time=first_ns - ago_s * 10**9)
        span.set_status(Status(StatusCode.ERROR, "customer lookup timed out"))
        span.end(end_time=first_ns - ago_s * 10**9 + 5_000_000)
    other = _provider(url, token, {"service.name": "billing-svc"})
    span = other.get_tracer("billing").start_span("charge", start_time=first_ns - 10**9)
    span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=first_ns)
    for provider in (orders, other):
        assert provider.force_flush(10_000)
        provider.shutdown()
    after = httpx.get(f"{url}/api/v1/rca/incidents/INC-1").json()
    assert after["root_cause"] == before["root_cause"]
    shown = after["evidence"]["producing_span"]
    assert (shown["service"], shown["operation"], shown["offset"]) == ("orders-svc", "orders publish", src["offset"])
    assert [(s["service"], s["operation"]) for s in after["evidence"]["error_spans"]] == [("orders-svc", "build order")]
    lines = chain_lines(from_json(json.dumps(after)))
    assert any(line.startswith("Producing span: orders-svc `orders publish` UNSET") for line in lines)
    assert any("Error span: orders-svc `build order`" in line and "customer lookup timed out" in line
               for line in lines)
