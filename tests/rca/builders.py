"""Graphs for RCA tests, built by hand in the graph writer's shapes (graph/model.py), plus their evidence.

`World` holds a store (a MemoryStore unless given) whose evidence, incidents and graph the builders fill.
`scenario1` and `scenario2` lay down the seed's two scenarios; the confounder tests add to them.
"""

from __future__ import annotations

import json
from typing import Any

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph import model as gm
from signal_factory.graph.model import Edge, Node, node_id
from signal_factory.model.evidence import (
    FAIL,
    G4_CONTRACT,
    Evidence,
    GateResult,
    Lineage,
    Producer,
    Source,
    Validation,
    decode_evidence,
)
from signal_factory.model.incidents import EvidenceSummary, Impact, Incident, SuspectedProducer
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.stores.memory import MemoryStore
from tests.conftest import DATA, envelope, order_payload, record

ORDERS = "urn:dp:orders:created"
BRONZE = "urn:dp:orders:bronze"
SILVER = "urn:dp:orders:silver"
GOLD = "urn:dp:orders:gold_daily"
DASHBOARD = "urn:dp:dashboards:executive_revenue"
FINANCE = "urn:dp:finance:revenue_pipeline"
MISSING = "MISSING_FIELD:customer_id"
FLASH = "UNKNOWN_ENUM:discount_type:FLASH_SALE"
PRIMARY = "evd-01HQXY8MNP4QR7ST9VW2XYZ456"
TRACE = "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"
SIGNAL1 = "sig-01HQXZ2NPQ5RS8TU0VW3XYZ789"
RUN = "spark-orders-silver-20240115-020005"
DAG_RUN = "scheduled__2024-01-15T02:00:00+00:00"
DRIFT_SIGNAL = "sig-01HQZB1111111111111111111"
NOW = "2024-01-15T10:02:15.000Z"
NOW2 = "2024-01-15T08:30:00.000Z"


def ms(text: str) -> int:
    value = parse_iso_ms(text)
    assert value is not None
    return value


class World:
    """A store (memory by default) whose `graph` the scenarios fill by hand, with the example's datasets."""

    def __init__(self, cp: ControlPlane, store: Any = None) -> None:
        self.cp = cp
        self.store = store if store is not None else MemoryStore()
        self.graph = self.store.graph
        self.evidence = self.store.evidence
        self.incidents = self.store.incidents
        for ds in cp.datasets.values():
            self.node(gm.DATASET, ds.urn, {"urn": ds.urn, "name": ds.name or ds.urn, "tier": ds.tier, "type": ds.type,
                                           "owner": ds.owner, "consumers": list(ds.consumers)})
            for f in ds.feeds:
                self.edge(node_id(gm.DATASET, ds.urn), gm.FEEDS, node_id(gm.DATASET, f.to),
                          {"type": f.type, **({"job": f.job} if f.job else {})})
            for p in ds.producers:
                self.node(gm.SERVICE, p, {"name": p})
                self.edge(node_id(gm.DATASET, ds.urn), gm.OWNED_BY, node_id(gm.SERVICE, p))

    def node(self, kind: str, key: str, props: dict[str, Any], ts_ms: int | None = None) -> str:
        self.graph.merge_nodes([Node(kind, key, props, ts_ms)])
        return node_id(kind, key)

    def edge(self, src: str, type_: str, dst: str, props: dict[str, Any] | None = None) -> None:
        self.graph.merge_edges([Edge(src, type_, dst, props or {})])

    def deploy(self, service: str, version: str, at: str, commit: str | None = None, *, inferred: bool = False) -> str:
        props: dict[str, Any] = {"service": service, "version": version, "deployed_at": at,
                                 "source": "inferred" if inferred else "marker", "inferred": inferred}
        if commit:
            props["commit"] = commit
        if inferred:
            props["first_seen"] = at
        self.node(gm.SERVICE, service, {"name": service})
        did = self.node(gm.DEPLOYMENT, gm.deployment_key(service, version), props, ms(at))
        self.edge(node_id(gm.SERVICE, service), gm.DEPLOYED, did, {"at": at})
        return did

    def signature(self, code: str, urn: str, first: str, count: int, first_evidence: str, level: str = FAIL) -> str:
        return self.node(gm.FAILURE_SIGNATURE, gm.signature_key(code, urn), {
            "reason_code": code, "dataset_urn": urn, "first_seen": first, "first_seen_ms": ms(first),
            "last_seen": first, "count": count, "first_evidence": first_evidence, "level": level}, ms(first))

    def signal(self, signal_id: str, type_: str, state: str, at: str, urn: str, causes: list[str]) -> str:
        sid = self.node(gm.SIGNAL, signal_id, {"type": type_, "state": state, "timestamp": at, "provisional": False},
                        ms(at))
        for fs in causes:
            self.edge(fs, gm.CAUSED, sid)
        self.edge(sid, gm.AFFECTS, node_id(gm.DATASET, urn))
        return sid

    def incident(self, incident: Incident) -> None:
        self.incidents.put(incident)
        iid = self.node(gm.INCIDENT, incident.incident_id, {"severity": incident.severity, "status": incident.status,
                                                            "created_at": incident.created_at},
                        ms(incident.created_at))
        for s in incident.signal_ids:
            self.edge(node_id(gm.SIGNAL, s), gm.TRIGGERED, iid)


def seed_primary_evidence() -> Evidence:
    return decode_evidence((DATA / "seed_scenario1_step2_evidence.json").read_bytes())


def make_incident(incident_id: str, *, signature: str = MISSING, signal_id: str = SIGNAL1, urn: str = ORDERS,
                  primary: str | None = PRIMARY, trace: str | None = TRACE, total: int = 1247, failed: int = 1120,
                  first: str = "2024-01-15T09:58:02.312Z", created: str = "2024-01-15T10:00:01.200Z",
                  producer: SuspectedProducer | None = None) -> Incident:
    return Incident(
        incident_id=incident_id, severity="SEV-1", title=f"Contract Violation - orders:created - {signature}",
        status="OPEN", created_at=created, updated_at=created, dataset_urn=urn, signal_id=signal_id,
        signal_type="CONTRACT_BREACH", failure_signature=signature,
        suspected_producer=producer or SuspectedProducer(service="orders-svc", version="v3.17", confidence="HIGH"),
        impact=Impact(tier=1, classification="revenue-critical"),
        evidence_summary=EvidenceSummary(total_events=total, failed_events=failed,
                                         failure_rate=f"{failed / total:.1%}", first_failure=first),
        primary_evidence_id=primary, primary_trace_id=trace, signal_ids=[signal_id])


def enforcer_at(cp: ControlPlane, at: str) -> Enforcer:
    """The real enforcer, its clock (evidence `timestamp`) stopped at `at`."""
    return Enforcer(cp, clock=lambda: ms(at) / 1000)


def scenario1(cp: ControlPlane, *, deployment: bool = True, store: Any = None) -> World:
    """Scenario 1 after Step 5: v3.16 then v3.17 deployed, 1,120 records missing customer_id, INC-7721."""
    w = World(cp, store)
    enforcer = enforcer_at(cp, "2024-01-15T09:58:03.200Z")
    failing = [record(envelope(order_payload(order_id=f"ORD-2024-0115-9912{i}", customer_id=None)),
                      offset=9918274 + i, ts=ms("2024-01-15T09:58:03.000Z") + i * 1000) for i in range(3)]
    batch = enforcer.process(failing)
    assert all(ev.validation.reason_codes == [MISSING] for ev in batch.evidence)
    w.evidence.add_many([seed_primary_evidence(), *batch.evidence])
    fs = w.signature(MISSING, ORDERS, "2024-01-15T09:58:02.312Z", 1120, PRIMARY)
    if deployment:
        w.deploy("orders-svc", "v3.16", "2024-01-12T16:20:00.000Z", "4be0a91")
        v17 = w.deploy("orders-svc", "v3.17", "2024-01-15T09:57:45.000Z", "9f3c2d1")
        w.edge(v17, gm.INTRODUCED, fs, {"first_evidence": PRIMARY, "timestamp": "2024-01-15T09:58:02.312Z"})
    w.signal(SIGNAL1, "CONTRACT_BREACH", "CRITICAL", "2024-01-15T10:00:00.000Z", ORDERS, [fs])
    w.incident(make_incident("INC-7721"))
    return w


def batch_failure(i: int, at: str) -> Evidence:
    """One of the Spark job's 380 FAIL evidence (Scenario 2 Step 4)."""
    return Evidence(
        evidence_id="evd-01HQZA1234567890ABCDEFGH" if i == 0 else f"evd-01HQZA{i:020d}", timestamp=at,
        dataset_urn=SILVER, producer=Producer(id="spark:orders_silver_transform", confidence="HIGH", run_id=RUN),
        validation=Validation(result=FAIL, gates=[GateResult(G4_CONTRACT, FAIL, FLASH)], failed_gates=[G4_CONTRACT],
                              reason_codes=[FLASH]),
        source=Source(input_dataset="s3://data-lake-prod/bronze/orders/2024-01-14/",
                      source_record_id=f"ORD-2024-0114-{55555 + i}"),
        lineage=Lineage(dag_run_id=DAG_RUN, spark_run_id=RUN, upstream_dataset=BRONZE))


def scenario2(cp: ControlPlane, *, drift_on: str = ORDERS) -> World:
    """Scenario 2 after Step 7: a real-time FLASH_SALE WARN on Jan 14, the nightly run failing 380 records.

    `drift_on`: the dataset whose signature node the PRODUCED_DRIFT edge points at (the writer links it to the
    real-time one, the seed's picture to the batch one); RCA must find the producer either way."""
    w = World(cp)
    enforcer = enforcer_at(cp, "2024-01-14T14:30:00.215Z")
    value = envelope(order_payload(order_id="ORD-2024-0114-55555", customer_id="cust-12345", total_amount=99.99,
                                   discount_type="FLASH_SALE", created_at=None))
    value["timestamp"] = "2024-01-14T14:30:00.000Z"
    headers = {"x-obs-trace-id": "0af7651916cd43dd8448eb211c80319c", "x-obs-producer-service": "orders-svc",
               "x-obs-producer-version": "v3.16", "x-obs-schema-id": "glue:orders.created:17"}
    warn = enforcer.process([record(value, headers=headers, ts=ms("2024-01-14T14:30:00.000Z"))]).evidence[0]
    assert warn.validation.result == "WARN"
    fails = [batch_failure(i, iso_ms(ms("2024-01-15T02:05:30.000Z") + i)) for i in range(380)]
    w.evidence.add_many([warn, *fails])
    rt = w.signature(FLASH, ORDERS, "2024-01-14T14:30:00.000Z", 1, warn.evidence_id, level="WARN")
    fs = w.signature(FLASH, SILVER, "2024-01-15T02:05:30.000Z", 380, fails[0].evidence_id)
    w.edge(node_id(gm.SERVICE, "orders-svc"), gm.PRODUCED_DRIFT, rt if drift_on == ORDERS else fs, {
        "first_evidence": warn.evidence_id, "timestamp": "2024-01-14T14:30:00.000Z", "confidence": "HIGH"})
    run = w.node(gm.JOB_RUN, RUN, {"run_id": RUN, "job_name": "orders_silver_transform", "dataset_urn": SILVER,
                                   "start_time": "2024-01-15T02:00:05.000Z", "end_time": "2024-01-15T02:08:45.000Z",
                                   "records_processed": 45230, "records_passed": 44850, "records_failed": 380},
                 ms("2024-01-15T02:00:05.000Z"))
    dag = w.node(gm.DAG_RUN, DAG_RUN, {"dag_run_id": DAG_RUN, "dag_id": "orders_daily_agg"}, ms("2024-01-15T02:00:00Z"))
    w.edge(dag, gm.EXECUTED, run)
    w.edge(run, gm.READ_FROM, node_id(gm.DATASET, BRONZE))
    w.edge(run, gm.WROTE_TO, node_id(gm.DATASET, SILVER))
    w.edge(run, gm.ENCOUNTERED, fs, {"count": 380})
    w.edge(node_id(gm.DATASET, BRONZE), gm.INTRODUCED_DRIFT, fs, {"origin_dataset": ORDERS, "origin_signature": rt})
    w.signal(DRIFT_SIGNAL, "DRIFT_DETECTED", "WARNING", "2024-01-15T02:10:00.000Z", SILVER, [fs])
    return w


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
