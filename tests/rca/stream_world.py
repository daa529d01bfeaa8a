"""A stream processor downstream of orders-svc: the example control plane plus `urn:dp:orders:enriched`, written by
the `enrichment-stream` topology's `enrich` node, and traffic in which orders-svc v3.17 (deployed 09:57:45) stops
sending `customer_id`."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.deployments import DeploymentMarker
from signal_factory.integrations.stream import EvidenceEmitter, ListSink, StreamEvidence
from signal_factory.model.records import RawRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from tests.conftest import EXAMPLE, order_payload

ENRICHED = "urn:dp:orders:enriched"
CREATED = "urn:dp:orders:created"
TOPOLOGY = "enrichment-stream"
NODE = "enrich"
DEPLOY_AT = "2024-01-15T09:57:45.000Z"
START_MS = parse_iso_ms("2024-01-15T09:45:00.000Z") or 0
END_MS = parse_iso_ms("2024-01-15T10:02:00.000Z") or 0
STEP_MS = 2000

_DATASET = """
  - urn: urn:dp:orders:enriched
    name: Orders enriched (stream)
    type: kafka_topic
    tier: 1
    owner: orders-team
    producers: [enrichment-stream]
    contract: dc:orders.created:3
    slo:
      contract_compliance: {threshold: 0.95, warning_threshold: 0.80}
"""


def stream_control_plane(tmp: Path) -> ControlPlane:
    """The example control plane with the enriched dataset, its topic and its producer (the topology)."""
    root = tmp / "controlplane"
    shutil.copytree(EXAMPLE, root)
    with (root / "datasets.yaml").open("a") as f:
        f.write(_DATASET)
    with (root / "topics.yaml").open("a") as f:
        f.write("  - {topic: enriched.orders.events, dataset: urn:dp:orders:enriched, producer: enrichment-stream}\n")
    with (root / "producers.yaml").open("a") as f:
        f.write("  - {id: enrichment-stream, owner: orders-team, description: Flink enrichment job}\n")
    return load_control_plane(root)


def _record(offset: int, ts: int, version: str, payload: dict[str, Any]) -> RawRecord:
    value = {"event_id": f"evt-{offset}", "event_type": "orders.created.v1", "timestamp": iso_ms(ts),
             "payload": payload}
    headers = {"x-obs-producer-service": "orders-svc", "x-obs-producer-version": version,
               "x-obs-schema-id": "glue:orders.created:17", "x-obs-trace-id": f"{offset:032x}"}
    return RawRecord(topic="raw.orders.events", partition=0, offset=offset, timestamp_ms=ts, headers=headers,
                     value=json.dumps(value).encode())


def traffic(deploy_ms: int, bad_from_ms: int) -> list[RawRecord]:
    """One order every 2 s from 09:45 to 10:02: v3.17 after the deploy, without `customer_id` after `bad_from_ms`."""
    out = []
    for n, ts in enumerate(range(START_MS, END_MS, STEP_MS)):
        payload = order_payload(order_id=f"ORD-2024-0115-{n:05d}", created_at=iso_ms(ts),
                                customer_id=None if ts > bad_from_ms else "cust-1")
        out.append(_record(n, ts, "v3.17" if ts > deploy_ms else "v3.16", payload))
    return out


@dataclass
class World:
    cp: ControlPlane
    store: MemoryStore
    records: list[RawRecord]
    processed: list[StreamEvidence]


def build(tmp: Path, *, bad_from: str | None = DEPLOY_AT, processor_drops_after: str | None = None) -> World:
    """Producer records through the enforcer (deploy markers: orders-svc v3.16 the day before, v3.17 at 09:57:45),
    then the processor's evidence through the evidence inflow (what `POST /api/v1/evidence` and the evidence topic
    call).
    `bad_from`: when orders-svc stops sending `customer_id` (None: never); `processor_drops_after`: when the
    processor itself starts dropping it from its output (a bug of its own)."""
    cp = stream_control_plane(tmp)
    store = MemoryStore()
    replay = ReplayService(cp, store, Enforcer(cp))
    with store.transaction():
        replay.graph.write_control_plane()
        replay.graph.write_deployments([
            DeploymentMarker(service="orders-svc", version="v3.16", at="2024-01-14T16:00:00.000Z", commit="9f8e7d6"),
            DeploymentMarker(service="orders-svc", version="v3.17", at=DEPLOY_AT, commit="a1b2c3d")])
    never = END_MS + 1
    records = traffic(parse_iso_ms(DEPLOY_AT) or 0, parse_iso_ms(bad_from) or never if bad_from else never)
    drops_ms = parse_iso_ms(processor_drops_after) or never if processor_drops_after else never
    replay.ingest(records)
    emitter = EvidenceEmitter(cp.contract_for(cp.datasets[ENRICHED]), ENRICHED, TOPOLOGY, NODE, ListSink(),
                              producer_version="v2.4.0")
    processed = []
    for rec in records:
        payload = json.loads(rec.value or b"{}")["payload"]
        if (rec.timestamp_ms or 0) > drops_ms:
            payload.pop("customer_id", None)
        processed.append(emitter.derived({**payload, "order_value_band": "MEDIUM"}, [rec],
                                         event_time_ms=rec.timestamp_ms))
    replay.ingest_evidence(processed)
    replay.flush_windows()
    return World(cp, store, records, processed)
