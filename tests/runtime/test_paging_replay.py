"""Paging through the real replay path: cardinality a producer cannot explode (issue 14 item 4), no page for
sporadic new signatures on clean traffic, and Scenario 1 paged as INC-1 (issue 13 item 2)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore

START = parse_iso_ms("2024-01-15T10:00:00.000Z") or 0
ORDERS = "urn:dp:orders:created"


def _record(i: int, ts: int, schema_id: str | None = None) -> str:
    """One orders.created record on raw.orders.events (orders-svc v3.17); a `schema_id` header naming a
    schema nobody registered makes it a FAIL with reason code `UNKNOWN_SCHEMA:<that id>` - a code the
    producer chooses."""
    body = {"event_id": f"01HQW9{i:020d}", "event_type": "orders.created.v1", "timestamp": iso_ms(ts),
            "payload": {"order_id": f"ORD-2024-0115-{i:05d}", "customer_id": f"cust-{i % 977}",
                        "total_amount": 10.5 + i % 50, "currency": "USD", "discount_type": "COUPON"},
            "metadata": {"producer_service": "orders-svc", "producer_version": "v3.17"}}
    return json.dumps({"topic": "raw.orders.events", "partition": 0, "offset": i, "tstype": "create", "ts": ts,
                       "headers": ["x-obs-trace-id", f"{i:032x}", "x-obs-producer-service", "orders-svc",
                                   "x-obs-producer-version", "v3.17",
                                   *(["x-obs-schema-id", schema_id] if schema_id else [])],
                       "key": f"ORD-2024-0115-{i:05d}", "payload": json.dumps(body)})


def _replay(control_plane: ControlPlane, path: Path) -> tuple[MemoryStore, Counter[str]]:
    store = MemoryStore()
    ReplayService(control_plane, store, Enforcer(control_plane)).replay([path], batch_size=1000)
    kinds = Counter(s.signal_type for s in store.signals.list(dataset_urn=ORDERS, limit=100_000))
    return store, kinds


@pytest.mark.slow
def test_ten_thousand_distinct_codes_stay_bounded(control_plane: ControlPlane, tmp_path: Path) -> None:
    """10,000 FAIL records at 10/s, each with its own schema id (10,000 distinct reason codes, four
    five-minute windows): ONE incident (the dataset's, SEV-1: every record fails, so it is a real page), at
    most 21 drift signals per window, a bounded number of contract signals, and one drift notice before
    the page."""
    path = tmp_path / "flood.jsonl"
    path.write_text("\n".join(_record(i, START + i * 100, f"glue:orders.created:{100_000 + i}")
                              for i in range(10_000)) + "\n")
    store, kinds = _replay(control_plane, path)
    incidents = store.incidents.list(limit=1000)
    assert [(i.incident_id, i.severity, i.failure_signature) for i in incidents] == [
        ("INC-1", "SEV-1", "CONTRACT_BREACH")]
    windows = 4
    assert kinds["DRIFT_DETECTED"] <= 21 * windows
    codes = {c for e in store.evidence.by_dataset(ORDERS, 0, 2**62, limit=20_000) for c in e.validation.reason_codes}
    assert len(codes) == 10_000
    assert kinds["CONTRACT_BREACH"] <= 2 * windows + 20  # final ones, and provisional ones as the rate moves
    incident = incidents[0]
    assert len(incident.new_signatures) == 20
    rows = store.outbox.list(limit=100_000)
    per_channel = Counter(n.channel for n in rows)
    assert per_channel["pagerduty"] <= 1 + 1000 // 60  # the page, then at most one figures update a minute
    assert len({n.incident_id for n in rows}) == 2  # INC-1 and the drift notice that came first


@pytest.mark.slow
def test_sporadic_new_signatures_on_clean_traffic_never_page(control_plane: ControlPlane, tmp_path: Path) -> None:
    """6,000 records with 0.3% sporadic new signatures (18 distinct codes) over ten minutes: no incident,
    no PagerDuty event; one drift notice per five-minute window to Slack and the webhook."""
    lines = [_record(i, START + i * 100, f"glue:orders.created:{i}" if i % 333 == 7 else None) for i in range(6_000)]
    path = tmp_path / "clean.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store, kinds = _replay(control_plane, path)
    assert kinds["DRIFT_DETECTED"] == 18
    assert store.incidents.list() == []
    rows = store.outbox.list(limit=1000)
    assert not [n for n in rows if n.channel == "pagerduty"]
    assert {n.event for n in rows} <= {"notice", "notice_update"}
    assert len({n.incident_id for n in rows}) == 2  # one notice per window (10:00 and 10:05)


def test_scenario1_drift_notice_then_inc1_then_final_figures(control_plane: ControlPlane) -> None:
    """Scenario 1 replayed with the example's routes: the first-seen MISSING_FIELD is a notice (Slack and
    webhook, no PagerDuty, no incident number); INC-1 is the SEV-1 contract page; the window's final
    signal re-triggers the same PagerDuty alert with 89.8%."""
    from tests.conftest import EXAMPLE

    store, _ = _replay(control_plane, EXAMPLE / "scenario1" / "traffic.jsonl")
    [incident] = store.incidents.list()
    assert (incident.incident_id, incident.severity, incident.title) == (
        "INC-1", "SEV-1", "Contract Violation - orders:created - MISSING_FIELD:customer_id")
    assert incident.new_signatures == ["MISSING_FIELD:customer_id"]
    rows = sorted(store.outbox.list(limit=100), key=lambda n: (n.created_at, n.notification_id))
    notices = [n for n in rows if n.event == "notice"]
    assert sorted(n.channel for n in notices) == ["slack", "webhook"]
    assert notices[0].incident_id.startswith("NTC-")
    assert rows[0].event == "notice"
    pages = [n.body for n in rows if n.channel == "pagerduty"]
    assert {(p["event_action"], p["dedup_key"]) for p in pages} == {("trigger", "INC-1")}
    assert pages[-1]["payload"]["summary"] == "[SEV-1] Contract Violation - orders:created - 89.8% failure rate"
    assert pages[-1]["payload"]["timestamp"] == "2024-01-15T10:00:00.000Z"
    assert pages[0]["payload"]["summary"] != pages[-1]["payload"]["summary"]
