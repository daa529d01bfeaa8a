"""One record stamped in 2030 cannot blind the detector (issue 14): end to end through the enforcer and engines."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.records import RawRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.model import CONTRACT_BREACH, FRESHNESS_BREACH
from signal_factory.stores.memory import MemoryStore

ORDERS = "urn:dp:orders:created"
T0 = parse_iso_ms("2024-01-15T09:55:00.000Z") or 0
FUTURE = parse_iso_ms("2030-01-01T00:00:00.000Z") or 0
NOW = T0 / 1000 + 3600  # the enforcer's ingest clock: an hour after the traffic


def record(offset: int, ts_ms: int, *, customer: str | None = None) -> RawRecord:
    """A record of orders-svc v3.17; without `customer` it FAILs MISSING_FIELD:customer_id (Scenario 1)."""
    body = {"event_id": f"01HQX7YMKP3QR5ST6VW8X{offset:05d}", "event_type": "orders.created.v1",
            "timestamp": iso_ms(ts_ms),
            "payload": {"order_id": f"ORD-2024-0115-{offset}", "total_amount": 149.98, "currency": "USD"}}
    if customer is not None:
        body["payload"]["customer_id"] = customer  # type: ignore[index]
    return RawRecord(topic="raw.orders.events", partition=0, offset=offset, timestamp_ms=ts_ms,
                     headers={"x-obs-producer-service": "orders-svc", "x-obs-producer-version": "v3.17"},
                     value=msgspec.json.encode(body), origin=f"test:{offset}")


def failing(count: int = 300) -> list[RawRecord]:
    return [record(1 + i, T0 + i * 500) for i in range(count)]  # 09:55:00 - 09:57:29.5, one window


def check(store: MemoryStore, new_evidence: int) -> None:
    assert new_evidence == 301  # exactly one evidence per record, the skewed one included
    assert len(store.evidence.by_signature("CLOCK_SKEW:future")) == 1
    finals = [s for s in store.signals.list(dataset_urn=ORDERS, signal_type=CONTRACT_BREACH, limit=100)
              if not s.provisional]
    assert [f.state for f in finals] == ["CRITICAL"]
    assert finals[0].metrics["fail_count"] == 300
    assert sum(f.metrics.get("clock_skew_count", 0) for f in finals) == 1
    assert all(f.window is not None and f.window.end < "2025" for f in finals)  # no window in 2030
    freshness = [i for i in store.incidents.list() if i.signal_type == FRESHNESS_BREACH]
    assert freshness == []


@pytest.mark.parametrize("batch_size", [1, 50, 301])
def test_a_future_record_first_does_not_silence_the_next_300_failures(control_plane: ControlPlane,
                                                                      batch_size: int) -> None:
    """Arrival order (as from Kafka): 2030 first, then 300 FAILs -> CRITICAL for them, no freshness incident."""
    store = MemoryStore()
    service = ReplayService(control_plane, store, Enforcer(control_plane, clock=lambda: NOW))
    records = [record(0, FUTURE, customer="cust-1"), *failing()]
    new = sum(service.ingest(records[i:i + batch_size]).new_evidence for i in range(0, len(records), batch_size))
    service.flush_windows()
    check(store, new)


def test_a_future_record_in_a_replayed_file_is_contained_too(control_plane: ControlPlane, tmp_path: Path) -> None:
    """`replay` sorts by event time, so the 2030 record comes last: it still opens no 2030 window or freshness page."""
    lines = []
    for rec in [record(0, FUTURE, customer="cust-1"), *failing()]:
        lines.append(msgspec.json.encode({"topic": rec.topic, "partition": 0, "offset": rec.offset,
                                          "timestamp": rec.timestamp_ms, "headers": rec.headers,
                                          "value": msgspec.json.decode(rec.value or b"{}")}))
    path = tmp_path / "skewed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store = MemoryStore()
    report = ReplayService(control_plane, store, Enforcer(control_plane, clock=lambda: NOW)).replay([path],
                                                                                                 batch_size=100)
    check(store, report.new_evidence)
