"""Stream evidence SDK: verdicts match the enforcer's G4, late data, correlation chains, sinks, ingestion."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.integrations.stream import (
    AGGREGATED_WITH,
    DERIVED_FROM,
    STREAM_EVIDENCE_SCHEMA,
    EvidenceEmitter,
    EvidenceSinkError,
    HttpSink,
    JsonLinesSink,
    KafkaSink,
    ListSink,
    RecordRef,
    Window,
    decode_stream_evidence,
    encode_stream_evidence,
)
from signal_factory.model.evidence import G4_CONTRACT, decode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from tests.conftest import envelope, order_payload, record, without_sampling
from tests.contracts.conformance_cases import CASES, WORLD_CASES, Case, conformance_world, records

URN = "urn:dp:orders:created"
T0 = 1705312682127

PAYLOADS = [
    order_payload(),
    order_payload(customer_id=None),
    order_payload(total_amount=-1),
    order_payload(currency="usd", total_amount="12"),
    order_payload(discount_type="MYSTERY"),
    order_payload(items=[{"sku": "A", "qty": 0}]),
    order_payload(customer_email="not-an-email"),
]


def _emitter(cp: ControlPlane, sink: Any = None, node: str = "contract-validator") -> EvidenceEmitter:
    contract = cp.contract_for(cp.datasets[URN])
    return EvidenceEmitter(contract, URN, "enrichment-stream", node, sink if sink is not None else ListSink(),
                           clock=lambda: 1705312700.0)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_verdict_equals_enforcer_g4(control_plane: ControlPlane, full_enforcer: Enforcer,
                                    payload: dict[str, Any]) -> None:
    """For the same payload the emitter's result, reason codes and G4 gate equal the enforcer's G4."""
    rec = record(envelope(payload))
    enforced = full_enforcer.process([rec]).evidence[0]
    g4 = next(g for g in enforced.validation.gates if g.gate == G4_CONTRACT)
    ev = _emitter(control_plane).validate(payload, input_record=rec, event_time_ms=T0)
    assert ev.validation.gates == [g4]
    assert ev.validation.result == (g4.result if g4.result != "SKIP" else "PASS")
    contract_codes = [c for c in enforced.validation.reason_codes if not c.startswith("PII")]
    assert ev.validation.reason_codes == contract_codes


def test_evidence_ids_are_deterministic_and_carry_stream_facet(control_plane: ControlPlane) -> None:
    """Re-processing the same input record yields the same id; the facet says where and when."""
    rec = record(envelope(order_payload()), offset=42)
    window = Window(type="TUMBLING", start="2024-01-15T09:58:00.000Z", end="2024-01-15T09:59:00.000Z")
    a = _emitter(control_plane).validate(order_payload(), input_record=rec, event_time_ms=T0, window=window,
                                         watermark_ms=T0 - 5000)
    b = _emitter(control_plane).validate(order_payload(), input_record=rec, event_time_ms=T0)
    assert a.evidence_id == b.evidence_id
    assert a.evidence_id.startswith("evd-")
    assert a.stream.topology_id == "enrichment-stream"
    assert a.stream.processor_node == "contract-validator"
    assert a.stream.window == window
    assert a.stream.watermark == "2024-01-15T09:57:57.127Z"
    assert a.stream.late_data is False
    assert a.source is not None
    assert (a.source.topic, a.source.partition, a.source.offset) == ("raw.orders.events", 0, 42)
    assert a.otel is not None
    assert a.otel.trace_id == "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"
    assert a.producer is not None
    assert (a.producer.id, a.producer.confidence) == ("enrichment-stream", "HIGH")


@pytest.mark.parametrize(("event_ms", "watermark_ms", "late"), [
    (T0, T0 + 1, True), (T0, T0, False), (T0, T0 - 1, False), (T0, None, False)])
def test_late_data_when_event_time_is_behind_the_watermark(control_plane: ControlPlane, event_ms: int,
                                                           watermark_ms: int | None, late: bool) -> None:
    """late_data is event time < watermark, and is always written."""
    ev = _emitter(control_plane).validate(order_payload(), input_record=RecordRef(topic="t", partition=0, offset=1),
                                          event_time_ms=event_ms, watermark_ms=watermark_ms)
    assert ev.stream.late_data is late
    assert b'"late_data":' in msgspec.json.encode(ev)


def test_correlation_chains_name_inputs_by_evidence_id_and_coordinates(control_plane: ControlPlane) -> None:
    """derived() links DERIVED_FROM each input, aggregated() AGGREGATED_WITH, in step order."""
    sink = ListSink()
    validator = _emitter(control_plane, sink)
    first = validator.validate(order_payload(), input_record=record(order_payload(), offset=1), event_time_ms=T0)
    second = validator.validate(order_payload(), input_record=record(order_payload(), offset=2),
                                event_time_ms=T0 + 10)
    enricher = _emitter(control_plane, sink, node="enrich")
    out = enricher.derived({**order_payload(), "order_value_band": "MEDIUM"}, inputs=[first])
    assert [(c.step, c.relation, c.evidence_id, c.offset) for c in out.correlation_chain] == [
        (1, DERIVED_FROM, first.evidence_id, 1)]
    assert out.source is not None
    assert first.source is not None
    assert out.source.timestamp == first.source.timestamp
    assert out.otel is not None
    assert first.otel is not None
    assert out.otel.trace_id == first.otel.trace_id
    agg = enricher.aggregated({"orders": 2}, inputs=[first, second, RecordRef(topic="x", partition=3, offset=9)],
                              window=Window(type="TUMBLING", start="a", end="b"))
    assert [(c.step, c.relation) for c in agg.correlation_chain] == [
        (1, AGGREGATED_WITH), (2, AGGREGATED_WITH), (3, AGGREGATED_WITH)]
    assert agg.correlation_chain[2].topic == "x"
    assert agg.correlation_chain[2].evidence_id is None
    assert agg.validation.result == "FAIL"  # the aggregate is not an order: the contract says so
    assert agg.source is not None
    assert agg.source.timestamp == "2024-01-15T09:58:02.137Z"
    again = enricher.aggregated({"orders": 2}, inputs=[first, second, RecordRef(topic="x", partition=3, offset=9)])
    assert again.evidence_id == agg.evidence_id
    assert len(sink.items) == 5


def test_stream_evidence_json_is_a_superset_of_evidence(control_plane: ControlPlane, tmp_path: Path) -> None:
    """JsonLinesSink writes $schema, stream and chain; plain Evidence decoding ignores them."""
    path = tmp_path / "out" / "evidence.jsonl"
    with JsonLinesSink(path) as sink:
        em = _emitter(control_plane, sink)
        root = em.validate(order_payload(customer_id=None), input_record=record(order_payload()), event_time_ms=T0)
        em.derived(order_payload(), inputs=[root])
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2
    raw = msgspec.json.decode(lines[1])
    assert raw["$schema"] == STREAM_EVIDENCE_SCHEMA
    assert raw["correlation_chain"][0]["relation"] == DERIVED_FROM
    plain = decode_evidence(lines[0])
    assert type(plain).__name__ == "Evidence"
    assert plain.validation.reason_codes == ["MISSING_FIELD:customer_id"]
    assert decode_stream_evidence(lines[0]) == root


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str | None, str | None, bytes]] = []
    status = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers.get("Authorization"), self.headers.get("Content-Type"),
                                    body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Collector", (_Collector,), {"received": [], "status": 202})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_sink_posts_json_lines_with_bearer_token(control_plane: ControlPlane,
                                                      http_server: tuple[str, type[_Collector]]) -> None:
    """HttpSink batches, POSTs ndjson to /api/v1/evidence with the token, and never prints the token."""
    url, handler = http_server
    sink = HttpSink(url, "s3cret", batch_size=2)
    em = _emitter(control_plane, sink)
    for offset in range(3):
        em.validate(order_payload(), input_record=RecordRef(topic="t", partition=0, offset=offset), event_time_ms=T0)
    assert len(handler.received) == 1  # the first full batch
    sink.close()
    assert [len(r[3].splitlines()) for r in handler.received] == [2, 1]
    path, auth, ctype, body = handler.received[0]
    assert (path, auth, ctype) == ("/api/v1/evidence", "Bearer s3cret", "application/x-ndjson")
    assert decode_evidence(body.splitlines()[0]).dataset_urn == URN
    assert "s3cret" not in repr(sink)


def test_http_sink_raises_a_typed_error_on_refusal(control_plane: ControlPlane,
                                                   http_server: tuple[str, type[_Collector]]) -> None:
    """A 401 is an infrastructure error with a message that says what to check."""
    url, handler = http_server
    handler.status = 401
    sink = HttpSink(url, "wrong")
    _emitter(control_plane, sink).validate(order_payload(), input_record=RecordRef(offset=1), event_time_ms=T0)
    with pytest.raises(EvidenceSinkError, match="answered 401"):
        sink.flush()


def test_kafka_sink_keys_by_dataset_urn(control_plane: ControlPlane) -> None:
    """KafkaSink produces to signal_factory.evidence keyed by dataset URN (producer injected, no broker)."""
    produced: list[tuple[str, bytes, bytes]] = []

    class FakeProducer:
        def produce(self, topic: str, key: bytes, value: bytes) -> None:
            produced.append((topic, key, value))

        def poll(self, timeout: float) -> int:
            return 0

        def flush(self, timeout: float) -> int:
            return 0

    sink = KafkaSink({}, producer=FakeProducer())
    _emitter(control_plane, sink).validate(order_payload(), input_record=RecordRef(offset=1), event_time_ms=T0)
    sink.flush()
    assert [(t, k) for t, k, _ in produced] == [("signal_factory.evidence", URN.encode())]


def test_replay_service_ingests_stream_evidence(control_plane: ControlPlane) -> None:
    """Stream evidence (as objects, or decoded from its JSON as plain Evidence) is stored and counted once."""
    sink = ListSink()
    em = _emitter(control_plane, sink)
    for offset in range(5):
        em.validate(order_payload(customer_id=None) if offset % 2 else order_payload(),
                    input_record=RecordRef(topic="raw.orders.events", partition=0, offset=offset),
                    event_time_ms=T0 + offset)
    store = MemoryStore()
    service = ReplayService(control_plane, store, Enforcer(control_plane))
    report = service.ingest_evidence(sink.items[:3])
    assert report.new_evidence == 3
    decoded = [decode_evidence(encode_stream_evidence(ev)) for ev in sink.items]
    again = service.ingest_evidence(decoded)
    assert again.new_evidence == 2
    stored = store.evidence.get(sink.items[1].evidence_id)
    assert stored is not None
    assert stored.validation.reason_codes == ["MISSING_FIELD:customer_id"]


@pytest.mark.parametrize("case", [c for c in CASES if c.name in WORLD_CASES], ids=lambda c: c.name)
def test_verdicts_equal_enforcer_g4_on_seeded_records(tmp_path: Path, case: Case) -> None:
    """On 200 seeded records breaking every per-record rule of the contract, the emitter's G4 gate equals
    the enforcer's, record by record."""
    cp = without_sampling(load_control_plane(conformance_world(tmp_path / "world")))
    urn, topic = WORLD_CASES[case.name]
    rows = [{k: v for k, v in r.items() if k != "_row"} for r in records(case, 200, seed=15)]
    raws = [record(envelope(r), topic=topic, offset=i, headers={"x-obs-producer-service": "orders-svc"})
            for i, r in enumerate(rows)]
    enforced = Enforcer(cp).process(raws).evidence
    emitter = EvidenceEmitter(cp.contract_for(cp.datasets[urn]), urn, "conformance", "validator", ListSink(),
                              clock=lambda: 1705312700.0)
    mismatches = []
    for i, (row, raw, ev) in enumerate(zip(rows, raws, enforced, strict=True)):
        g4 = next(g for g in ev.validation.gates if g.gate == G4_CONTRACT)
        if emitter.validate(row, input_record=raw, event_time_ms=T0).validation.gates != [g4]:
            mismatches.append(i)
    assert mismatches == []
    assert {g.result for ev in enforced for g in ev.validation.gates if g.gate == G4_CONTRACT} >= {"PASS", "FAIL"}
