"""GraphWriter on the seed's scenarios: Scenario 1 Step 4's chain, its blast radius, inferred deployments,
and Scenario 2 Step 7's batch wiring (memory, SQLite and PostgreSQL graphs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.deployments import load_markers
from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.model import Edge
from signal_factory.graph.ports import GraphStore, traverse
from signal_factory.graph.writer import GraphWriter
from signal_factory.model.evidence import FAIL, Evidence, Lineage, Producer, Validation
from signal_factory.model.incidents import Incident
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, BatchRunTotals, Signal
from signal_factory.sources.jsonlines import read_lines
from tests.conftest import EXAMPLE, without_sampling
from tests.runtime.rollback import write_rollback_traffic

ORDERS, BRONZE, SILVER = "urn:dp:orders:created", "urn:dp:orders:bronze", "urn:dp:orders:silver"
MISSING_FS = "FailureSignature:MISSING_FIELD:customer_id@urn:dp:orders:created"
FLASH = "UNKNOWN_ENUM:discount_type:FLASH_SALE"
RUN = "spark-orders-silver-20240115-020005"
DAG_RUN = "scheduled__2024-01-15T02:00:00+00:00"


@pytest.fixture(scope="module")
def cp() -> ControlPlane:
    return load_control_plane(EXAMPLE)


def _enforce(cp: ControlPlane, path: str) -> list[Evidence]:
    records = list(read_lines((EXAMPLE / path).read_bytes().splitlines(), path))
    return Enforcer(cp).process(records).evidence


@pytest.fixture(scope="module")
def scenario1(cp: ControlPlane) -> tuple[list[Evidence], list[Signal]]:
    """Scenario 1's 1,247 records through the enforcer, and the signals the engines make of them."""
    evidence = _enforce(cp, "scenario1/traffic.jsonl")
    host = SignalEngineHost(cp)
    return evidence, host.add_evidence(evidence) + host.flush()


def _one(graph: GraphStore, src: str, type_: str) -> Edge:
    (edge,) = graph.edges_from([src], [type_])
    return edge


def _seed_evidence(evidence: list[Evidence]) -> Evidence:
    return next(e for e in evidence if e.source is not None and e.source.offset == 9918273)


def test_scenario1_step4_chain_from_deployment_to_dataset(store: Any, cp: ControlPlane,
                                                          scenario1: tuple[list[Evidence], list[Signal]]) -> None:
    """Deployment v3.17 -INTRODUCED(first evidence = offset 9918273)-> signature -CAUSED-> CRITICAL
    CONTRACT_BREACH -AFFECTS-> orders:created -OWNED_BY-> orders-svc; the incident walks back to the deploy."""
    evidence, signals = scenario1
    g = store.graph
    writer = GraphWriter(g, cp)
    writer.write_control_plane()
    writer.write_deployments(load_markers(EXAMPLE / "scenario1" / "deployments.jsonl"))
    writer.on_evidence(evidence)
    breach = next(s for s in signals if s.signal_type == CONTRACT_BREACH and s.state == CRITICAL
                  and not s.provisional)
    for s in signals:
        writer.on_signal(s)

    first = _seed_evidence(evidence)
    introduced = _one(g, "Deployment:orders-svc:v3.17", "INTRODUCED")
    assert introduced == Edge("Deployment:orders-svc:v3.17", "INTRODUCED", MISSING_FS,
                              {"first_evidence": first.evidence_id, "timestamp": "2024-01-15T09:58:02.127Z"})
    fs = g.node(MISSING_FS)
    assert fs is not None
    assert fs.props["count"] == 1120
    assert fs.props["level"] == FAIL
    assert fs.props["first_seen"] == "2024-01-15T09:58:02.127Z"
    assert fs.props["first_evidence"] == first.evidence_id
    assert f"Signal:{breach.signal_id}" in {e.dst for e in g.edges_from([MISSING_FS], ["CAUSED"])}
    assert _one(g, f"Signal:{breach.signal_id}", "AFFECTS").dst == f"Dataset:{ORDERS}"
    assert _one(g, f"Dataset:{ORDERS}", "OWNED_BY").dst == "Service:orders-svc"
    assert g.edges_from(["Deployment:orders-svc:v3.16"], ["INTRODUCED"]) == []

    ok = next(s for s in signals if s.state == "OK")
    writer.on_incident(Incident(incident_id="INC-7721", severity="SEV-1", title="Contract Violation", status="OPEN",
                                created_at="2024-01-15T10:00:01.200Z", updated_at="2024-01-15T10:00:01.200Z",
                                dataset_urn=ORDERS, signal_id=breach.signal_id, signal_type=CONTRACT_BREACH,
                                failure_signature="MISSING_FIELD:customer_id",
                                signal_ids=[breach.signal_id, ok.signal_id]))
    assert [e.src for e in g.edges_from(["Incident:INC-7721"], ["TRIGGERED"], "in")] == [f"Signal:{breach.signal_id}"]
    upstream = traverse(g, ["Incident:INC-7721"], ["TRIGGERED", "CAUSED", "INTRODUCED"], "in", 3)
    assert ("Deployment:orders-svc:v3.17", 3) in [(nid, depth) for nid, depth, _ in upstream]
    dep = g.node("Deployment:orders-svc:v3.17")
    assert dep is not None
    assert dep.props["deployed_at"] == "2024-01-15T09:57:45.000Z"


def test_blast_radius_follows_feeds_up_to_three_hops(cp: ControlPlane) -> None:
    """FEEDS from orders:created: bronze, silver, gold_daily and the finance pipeline within 3 hops, with tier
    and type; the executive dashboard is the 4th hop in this control plane (bronze sits between)."""
    g = MemoryGraphStore()
    GraphWriter(g, cp).write_control_plane()
    reached = {nid: depth for nid, depth, _ in traverse(g, [f"Dataset:{ORDERS}"], ["FEEDS"], max_depth=4)}
    assert reached == {f"Dataset:{BRONZE}": 1, f"Dataset:{SILVER}": 2, "Dataset:urn:dp:orders:gold_daily": 3,
                       "Dataset:urn:dp:finance:revenue_pipeline": 3, "Dataset:urn:dp:dashboards:executive_revenue": 4}
    nodes = g.nodes_by_id(list(reached))
    assert nodes["Dataset:urn:dp:dashboards:executive_revenue"].props["type"] == "dashboard"
    assert {n.props["tier"] for n in nodes.values()} == {1, 2}
    edge = next(e for e in g.edges_from([f"Dataset:{SILVER}"], ["FEEDS"]) if e.dst.endswith("gold_daily"))
    assert edge.props == {"type": "BATCH", "job": "orders_daily_agg"}


def test_writing_the_control_plane_twice_changes_nothing(store: Any, cp: ControlPlane) -> None:
    """write_control_plane is idempotent: the same node and edge counts, the same props."""
    writer = GraphWriter(store.graph, cp)
    writer.write_control_plane()
    before = (store.graph.counts(), list(store.graph.iter_nodes()), list(store.graph.iter_edges()))
    writer.write_control_plane()
    assert (store.graph.counts(), list(store.graph.iter_nodes()), list(store.graph.iter_edges())) == before


def test_without_markers_the_deploy_is_inferred_from_the_first_v317_evidence(
        store: Any, cp: ControlPlane, scenario1: tuple[list[Evidence], list[Signal]]) -> None:
    """No marker file: v3.16 is the baseline (no node), v3.17 an inferred deployment at its first evidence,
    which INTRODUCED the signature. Batches of 100 through fresh writers give the one-batch result."""
    evidence, _ = scenario1
    first = _seed_evidence(evidence)
    whole = MemoryGraphStore()
    GraphWriter(whole, cp).on_evidence(evidence)
    for i in range(0, len(evidence), 100):
        GraphWriter(store.graph, cp).on_evidence(evidence[i:i + 100])  # a restart before every batch
    for g in (whole, store.graph):
        dep = g.node("Deployment:orders-svc:v3.17")
        assert dep is not None
        assert dep.props["inferred"] is True
        assert dep.props["source"] == "inferred"
        assert dep.props["first_seen"] == dep.props["deployed_at"] == "2024-01-15T09:58:02.127Z"
        assert dep.props["first_evidence"] == first.evidence_id
        assert g.node("Deployment:orders-svc:v3.16") is None
        assert _one(g, "Deployment:orders-svc:v3.17", "INTRODUCED").props["first_evidence"] == first.evidence_id
        service = g.node("Service:orders-svc")
        assert service is not None
        assert service.props["last_version"] == "v3.17"
    assert list(store.graph.iter_nodes()) == list(whole.iter_nodes())
    assert list(store.graph.iter_edges()) == list(whole.iter_edges())


def test_a_rollback_to_the_baseline_is_no_deployment_for_a_fresh_writer(store: Any, cp: ControlPlane,
                                                                        tmp_path: Path) -> None:
    """v3.16, v3.17, back to v3.16: the baseline is stored on the Service node, so a writer per batch (a
    restart, an API request) infers no v3.16 deployment and writes exactly what one long-lived writer does."""
    path = write_rollback_traffic(tmp_path / "rollback.jsonl", per_phase=60)
    records = list(read_lines(path.read_bytes().splitlines(), str(path)))
    evidence = Enforcer(without_sampling(cp)).process(records).evidence
    whole = MemoryGraphStore()
    GraphWriter(whole, cp).on_evidence(evidence)
    for i in range(0, len(evidence), 50):
        GraphWriter(store.graph, cp).on_evidence(evidence[i:i + 50])
    for g in (whole, store.graph):
        assert g.node("Deployment:orders-svc:v3.16") is None
        deploy = g.node("Deployment:orders-svc:v3.17")
        assert deploy is not None
        assert deploy.props["inferred"] is True
        service = g.node("Service:orders-svc")
        assert service is not None
        assert (service.props["baseline_version"], service.props["last_version"]) == ("v3.16", "v3.16")
    assert list(store.graph.iter_nodes()) == list(whole.iter_nodes())
    assert list(store.graph.iter_edges()) == list(whole.iter_edges())


def test_a_later_marker_takes_over_an_inferred_deployment(cp: ControlPlane,
                                                          scenario1: tuple[list[Evidence], list[Signal]]) -> None:
    """The marker that arrives after inference wins on deploy time and source; first_seen stays."""
    g = MemoryGraphStore()
    writer = GraphWriter(g, cp)
    writer.on_evidence(scenario1[0])
    writer.write_deployments(load_markers(EXAMPLE / "scenario1" / "deployments.jsonl"))
    dep = g.node("Deployment:orders-svc:v3.17")
    assert dep is not None
    assert (dep.props["source"], dep.props["inferred"]) == ("marker", False)
    assert dep.props["deployed_at"] == "2024-01-15T09:57:45.000Z"
    assert dep.props["first_seen"] == "2024-01-15T09:58:02.127Z"


def _batch_evidence(n: int) -> Evidence:
    """Scenario 2 Step 4: the Spark job's FAIL evidence for one bronze record."""
    return Evidence(
        evidence_id=f"evd-01HQZA{n:020d}", timestamp="2024-01-15T02:05:30.000Z", dataset_urn=SILVER,
        producer=Producer("spark:orders_silver_transform", "HIGH", run_id=RUN),
        validation=Validation(FAIL, [], ["G4_CONTRACT"], [FLASH]),
        lineage=Lineage(dag_run_id=DAG_RUN, spark_run_id=RUN, upstream_dataset=BRONZE))


def test_scenario2_step7_batch_lineage(store: Any, cp: ControlPlane) -> None:
    """Stream WARN (orders-svc PRODUCED_DRIFT), then the Spark run: DAGRun-EXECUTED->JobRun, READ_FROM bronze,
    WROTE_TO silver, ENCOUNTERED the silver signature, bronze INTRODUCED_DRIFT pointing at the stream evidence."""
    g = store.graph
    writer = GraphWriter(g, cp)
    writer.write_control_plane()
    stream = _enforce(cp, "records/scenario2-flash-sale.jsonl")
    writer.on_evidence(stream)
    writer.on_evidence([_batch_evidence(i) for i in range(3)])
    run = BatchRunTotals(dataset_urn=SILVER, run_id=RUN, job_name="orders_silver_transform",
                         started_at="2024-01-15T02:00:05.000Z", ended_at="2024-01-15T02:08:45.000Z",
                         records_processed=45230, records_passed=44850, records_failed=380,
                         failure_signatures={FLASH: 380}, upstream_dataset=BRONZE,
                         batch_context={"dag_id": "orders_daily_agg", "dag_run_id": DAG_RUN, "spark_run_id": RUN})
    writer.on_batch_run(run)
    host = SignalEngineHost(cp)
    host.add_evidence(stream)
    signals = host.add_batch_run(run)
    for s in signals:
        writer.on_signal(s)

    stream_fs, silver_fs = f"FailureSignature:{FLASH}@{ORDERS}", f"FailureSignature:{FLASH}@{SILVER}"
    jr = f"JobRun:{RUN}"
    drift = _one(g, "Service:orders-svc", "PRODUCED_DRIFT")
    assert (drift.dst, drift.props) == (stream_fs, {"first_evidence": stream[0].evidence_id,
                                                    "timestamp": "2024-01-14T14:30:00.000Z", "confidence": "HIGH"})
    assert _one(g, f"DAGRun:{DAG_RUN}", "EXECUTED").dst == jr
    assert [e.dst for e in g.edges_from([jr], ["READ_FROM"])] == [f"Dataset:{BRONZE}"]
    assert [e.dst for e in g.edges_from([jr], ["WROTE_TO"])] == [f"Dataset:{SILVER}"]
    assert _one(g, jr, "ENCOUNTERED") == Edge(jr, "ENCOUNTERED", silver_fs, {"count": 380})
    introduced = _one(g, f"Dataset:{BRONZE}", "INTRODUCED_DRIFT")
    assert introduced.dst == silver_fs
    assert introduced.props == {"origin_dataset": ORDERS, "origin_signature": stream_fs,
                                "first_seen": "2024-01-14T14:30:00.000Z", "first_evidence": stream[0].evidence_id}
    fs = g.node(silver_fs)
    assert fs is not None
    assert fs.props["count"] == 3  # evidence counted once; the run's 380 is on ENCOUNTERED
    assert fs.props["first_seen_in_source"] == "2024-01-14T14:30:00.000Z"
    drift_signal = next(s for s in signals if s.signal_type == "DRIFT_DETECTED")
    assert f"Signal:{drift_signal.signal_id}" in {e.dst for e in g.edges_from([silver_fs], ["CAUSED"])}
    jobrun, dag = g.node(jr), g.node(f"DAGRun:{DAG_RUN}")
    assert jobrun is not None
    assert dag is not None
    assert (jobrun.props["engine"], jobrun.props["records_failed"]) == ("spark", 380)
    assert (dag.props["dag_id"], dag.props["execution_date"]) == ("orders_daily_agg", "2024-01-15T02:00:00+00:00")
    # Step 8: affected runs of the signature, and what the run's output feeds
    assert [e.src for e in g.edges_from([silver_fs], ["ENCOUNTERED"], "in")] == [jr]
    out = [e.dst for e in g.edges_from([jr], ["WROTE_TO"])]
    assert {nid for nid, _, _ in traverse(g, out, ["FEEDS"], max_depth=3)} == {
        "Dataset:urn:dp:orders:gold_daily", "Dataset:urn:dp:finance:revenue_pipeline",
        "Dataset:urn:dp:dashboards:executive_revenue"}


def test_first_evidence_is_never_overwritten(cp: ControlPlane) -> None:
    """Later batches add to the count and move last_seen; first_evidence and INTRODUCED stay as first written."""
    g = MemoryGraphStore()
    writer = GraphWriter(g, cp)
    writer.on_evidence([_batch_evidence(1)])
    writer.on_evidence([_batch_evidence(2), _batch_evidence(0)])
    fs = g.node(f"FailureSignature:{FLASH}@{SILVER}")
    assert fs is not None
    assert (fs.props["count"], fs.props["first_evidence"]) == (3, _batch_evidence(1).evidence_id)
