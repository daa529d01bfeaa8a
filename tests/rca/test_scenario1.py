"""Scenario 1 (seed Step 6): INC-7721 traced to the orders-svc v3.17 deployment, on memory and SQL graphs,
and end to end from the scenario's records through the real pipeline and graph writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.deployments import load_markers
from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.writer import GraphWriter
from signal_factory.rca.analyze import analyze_incident, analyze_signature
from signal_factory.rca.confidence import WEIGHTS
from signal_factory.rca.report import RCAReport
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE
from tests.rca import builders as b


def test_root_cause_is_the_v3_17_deployment(scenario1_report: RCAReport) -> None:
    """The cause is orders-svc v3.17 (commit 9f3c2d1), deployed 09:57:45, first failure 17 s later."""
    rc = scenario1_report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.commit, rc.inferred) == (
        "DEPLOYMENT", "orders-svc", "v3.17", "9f3c2d1", False)
    assert rc.deployed_at == "2024-01-15T09:57:45.000Z"
    assert rc.first_failure == "2024-01-15T09:58:02.312Z"
    assert rc.seconds_to_first_failure is not None
    assert round(rc.seconds_to_first_failure) == 17
    assert rc.statement.startswith("Deployment orders-svc v3.17 at 09:57:45 UTC introduced MISSING_FIELD:customer_id")
    assert "17 s after it" in rc.statement
    assert "stopped populating the required `customer_id` field" in rc.statement


def test_confidence_is_high_with_one_reason_per_factor(scenario1_report: RCAReport) -> None:
    """HIGH, about 0.95, with a reason for each factor whose effects add up to the score."""
    conf = scenario1_report.confidence
    assert conf.level == "HIGH"
    assert conf.score == pytest.approx(0.946, abs=0.002)
    assert [r.factor for r in conf.reasons] == list(WEIGHTS)
    assert sum(r.effect for r in conf.reasons) == pytest.approx(conf.score, abs=1e-3)
    why = {r.factor: r for r in conf.reasons}
    assert "17 s after the deployment (strong" in why["temporal"].text
    assert why["producer_match"].value == 1.0
    assert "orders-svc v3.17, the deployed service and version" in why["producer_match"].text
    assert why["signature_determinism"].text == "all 1,120 failures carry one signature, MISSING_FIELD:customer_id"
    assert why["identity"].value == 1.0
    assert "explicit producer header" in why["identity"].text
    assert why["cause_marker"].text == "explicit deployment marker"


def test_blast_radius_names_downstream_assets_with_tier_and_type(scenario1_report: RCAReport) -> None:
    """Silver, gold daily, the executive dashboard and the finance pipeline, with tiers and types from the example."""
    rows = {x.urn: (x.name, x.tier, x.type) for x in scenario1_report.blast_radius}
    assert rows[b.SILVER] == ("sales.orders_silver", 1, "delta_table")
    assert rows[b.GOLD] == ("sales.orders_gold_daily", 1, "delta_table")
    assert rows[b.DASHBOARD] == ("Executive revenue dashboard", 1, "dashboard")
    assert rows[b.FINANCE] == ("Finance revenue pipeline", 1, "pipeline")
    assert rows[b.BRONZE] == ("orders_bronze (S3/Delta)", 2, "delta_table")
    hops = {x.urn: x.hops for x in scenario1_report.blast_radius}
    assert hops == {b.BRONZE: 1, b.SILVER: 2, b.GOLD: 3, b.FINANCE: 3, b.DASHBOARD: 4}  # the STREAM landing is free


def test_actions_roll_back_to_v3_16_then_verify_then_investigate(scenario1_report: RCAReport) -> None:
    """Rollback to the service's previous deployment, verification on the dataset, then the investigation."""
    assert scenario1_report.actions == [
        "Roll back orders-svc to v3.16 (deployed 2024-01-12 16:20:00 UTC)",
        "After rollback, verify new evidence for urn:dp:orders:created shows PASS",
        "Investigate the v3.17 changes (commit 9f3c2d1): find why it stopped populating the required "
        "`customer_id` field",
    ]


def test_evidence_chain_names_primary_evidence_and_trace(scenario1_report: RCAReport) -> None:
    """Primary evidence and trace id of the incident, counts and the producer's identity."""
    ev = scenario1_report.evidence
    assert (ev.primary_evidence_id, ev.primary_trace_id) == (b.PRIMARY, b.TRACE)
    assert (ev.total_events, ev.failed_events, ev.signature_count) == (1247, 1120, 1120)
    assert (ev.producer, ev.producer_version, ev.identity_confidence) == ("orders-svc", "v3.17", "HIGH")
    assert ev.first_evidence_id == b.PRIMARY


def test_timeline_and_data_flow(scenario1_report: RCAReport) -> None:
    """Deploy, first failure, signal, incident and analysis in order; one data-flow line from producer to gold."""
    assert [(e.time, e.actor) for e in scenario1_report.timeline] == [
        ("2024-01-15T09:57:45.000Z", "orders-svc"), ("2024-01-15T09:58:02.312Z", "policy-enforcer"),
        ("2024-01-15T10:00:00.000Z", "signal-engine"), ("2024-01-15T10:00:01.200Z", "alerting"),
        ("2024-01-15T10:02:15.000Z", "rca")]
    assert [h.label for h in scenario1_report.data_flow] == [
        "orders-svc", "raw.orders.events", "bronze", "silver", "gold_daily"]
    assert scenario1_report.alternatives == []
    assert scenario1_report.concurrent_signatures == []


def test_graph_walk_is_bounded_and_timed(scenario1_report: RCAReport) -> None:
    """A handful of graph queries, each timed; the explanation is the template's."""
    t = scenario1_report.timing
    assert 0 < t.graph_calls <= 20
    assert 0 <= t.graph_ms <= t.total_ms
    assert scenario1_report.explanation.source == "template"


def test_sql_graph_gives_the_same_report(control_plane: ControlPlane, tmp_path: Path,
                                         scenario1_report: RCAReport) -> None:
    """The SQLite store's graph answers every RCA query as the memory graph does."""
    with open_store(f"sqlite:///{tmp_path}/rca.db") as store:
        w = b.scenario1(control_plane, store=store)
        report = analyze_incident("INC-7721", graph=w.graph, evidence=w.evidence, incidents=w.incidents,
                                  now=b.ms(b.NOW))
    report.timing = scenario1_report.timing
    assert report == scenario1_report


def test_end_to_end_from_records_through_the_graph_writer(control_plane: ControlPlane) -> None:
    """Scenario 1's 1,247 records replayed, the real GraphWriter fed, and RCA names v3.17 with HIGH confidence."""
    store = MemoryStore()
    result = ReplayService(control_plane, store, Enforcer(control_plane)).replay(
        [EXAMPLE / "scenario1/traffic.jsonl"])
    incidents = {c.incident.incident_id: c.incident for c in result.changes}
    (incident,) = [i for i in incidents.values() if i.failure_signature == b.MISSING]
    graph = MemoryGraphStore()
    writer = GraphWriter(graph, control_plane)
    writer.write_control_plane()
    writer.write_deployments(load_markers(EXAMPLE / "scenario1/deployments.jsonl"))
    writer.on_evidence(store.evidence.by_dataset(b.ORDERS, 0, 2**62, limit=100_000))
    for signal in result.signals:
        writer.on_signal(signal)
    writer.on_incident(incident)
    report = analyze_incident(incident.incident_id, graph=graph, evidence=store.evidence, incidents=store.incidents,
                              now=b.ms(b.NOW))
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version) == ("DEPLOYMENT", "orders-svc", "v3.17")
    assert rc.seconds_to_first_failure is not None
    assert 15 <= rc.seconds_to_first_failure <= 20
    assert report.confidence.level == "HIGH"
    assert report.actions[0].startswith("Roll back orders-svc to v3.16")
    assert {b.SILVER, b.GOLD, b.DASHBOARD, b.FINANCE} <= {x.urn for x in report.blast_radius}


def test_signature_query_on_scenario1_finds_the_same_deployment(control_plane: ControlPlane) -> None:
    """`rca --signature MISSING_FIELD:customer_id` reaches the same cause without the incident."""
    w = b.scenario1(control_plane)
    report = analyze_signature(b.MISSING, graph=w.graph, evidence=w.evidence, now=b.ms(b.NOW))
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.dataset_urn) == ("DEPLOYMENT", "orders-svc", "v3.17", b.ORDERS)
    assert report.confidence.level == "HIGH"
    assert report.header.query == f"Where does {b.MISSING} on {b.ORDERS} come from, and what does it affect?"
    assert report.affected_runs == []
