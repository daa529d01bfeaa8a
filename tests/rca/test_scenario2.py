"""Scenario 2 (seed Step 8): the FLASH_SALE batch failure traced upstream to orders-svc's real-time drift."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.rca.analyze import RcaLookupError, analyze_incident, analyze_signature
from signal_factory.rca.report import RCAReport
from tests.rca import builders as b


def test_root_cause_is_upstream_drift_from_orders_svc(scenario2_report: RCAReport) -> None:
    """orders-svc, via PRODUCED_DRIFT, first emitted FLASH_SALE on Jan 14; the batch job rejected 380 records."""
    rc = scenario2_report.root_cause
    assert (rc.kind, rc.service, rc.reason_code, rc.dataset_urn) == ("UPSTREAM_DRIFT", "orders-svc", b.FLASH, b.SILVER)
    assert 'emits a `discount_type` value "FLASH_SALE" that the contract does not list' in rc.statement
    assert "first seen 2024-01-14 14:30:00 UTC on urn:dp:orders:created" in rc.statement
    assert "orders_silver_transform rejected 380 records in spark-orders-silver-20240115-020005" in rc.statement
    assert scenario2_report.confidence.level == "HIGH"
    assert scenario2_report.header.query == (f"Why did {b.RUN} reject 380 records ({b.FLASH})?")


def test_evidence_chain_links_the_realtime_warn_to_the_batch_fails(scenario2_report: RCAReport) -> None:
    """The first real-time WARN evidence and its time, the first batch FAIL and its count, run and DAG run ids."""
    ev = scenario2_report.evidence
    assert ev.realtime_warn_evidence_id is not None
    assert ev.realtime_warn_evidence_id.startswith("evd-")
    assert ev.realtime_warn_at == "2024-01-14T14:30:00.000Z"
    assert (ev.batch_fail_evidence_id, ev.batch_fail_count) == ("evd-01HQZA1234567890ABCDEFGH", 380)
    assert (ev.run_ids, ev.dag_run_ids) == ([b.RUN], [b.DAG_RUN])
    assert (ev.producer, ev.identity_confidence) == ("orders-svc", "HIGH")


def test_affected_run_and_blast_radius(scenario2_report: RCAReport) -> None:
    """The run that ENCOUNTERED the signature (380 of 45,230 failed) and what it wrote, downstream over FEEDS."""
    (run,) = scenario2_report.affected_runs
    assert (run.run_id, run.job, run.records_failed, run.records_processed) == (
        b.RUN, "orders_silver_transform", 380, 45230)
    assert (run.dag_run_id, run.inputs, run.outputs) == (b.DAG_RUN, [b.BRONZE], [b.SILVER])
    rows = [(x.urn, x.hops, x.via, x.tier, x.type) for x in scenario2_report.blast_radius]
    assert rows == [(b.SILVER, 0, "WROTE_TO", 1, "delta_table"), (b.GOLD, 1, "FEEDS", 1, "delta_table"),
                    (b.FINANCE, 1, "FEEDS", 1, "pipeline"), (b.DASHBOARD, 2, "FEEDS", 1, "dashboard")]
    assert scenario2_report.blast_radius[0].impact == f"missing 380 records rejected by {b.RUN}"


def test_the_four_drift_actions(scenario2_report: RCAReport) -> None:
    """Accept the value, reprocess the partition, coordinate with the producer team, add a contract test in CI."""
    assert scenario2_report.actions == [
        'Add "FLASH_SALE" to the accepted values of `discount_type` in the contract and in orders_silver_transform',
        f"Reprocess s3://data-lake-prod/bronze/orders/2024-01-14/ (rerun {b.RUN})",
        "Coordinate with orders-team (orders-svc) to document the new `discount_type` values",
        "Add a contract test in CI for `discount_type` values in orders-svc",
    ]


def test_timeline_and_data_flow_cross_from_stream_to_batch(scenario2_report: RCAReport) -> None:
    """Real-time WARN, run start, batch failures, run end, drift signal; the flow passes through the job."""
    actors = [(e.time, e.actor) for e in scenario2_report.timeline]
    assert actors == [("2024-01-14T14:30:00.000Z", "orders-svc"), ("2024-01-14T14:30:00.215Z", "policy-enforcer"),
                      ("2024-01-15T02:00:05.000Z", "orders_silver_transform"),
                      ("2024-01-15T02:05:30.000Z", "spark:orders_silver_transform"),
                      ("2024-01-15T02:08:45.000Z", "orders_silver_transform"),
                      ("2024-01-15T02:10:00.000Z", "signal-engine"), ("2024-01-15T08:30:00.000Z", "rca")]
    assert [(h.label, h.kind) for h in scenario2_report.data_flow] == [
        ("orders-svc", "service"), ("raw.orders.events", "dataset"), ("bronze", "dataset"),
        ("orders_silver_transform", "job"), ("silver", "dataset"), ("gold_daily", "dataset")]


def test_drift_edge_on_either_signature_node_is_found(control_plane: ControlPlane) -> None:
    """PRODUCED_DRIFT on the batch dataset's signature (the seed's picture) gives the same cause."""
    w = b.scenario2(control_plane, drift_on=b.SILVER)
    report = analyze_signature(b.FLASH, b.SILVER, graph=w.graph, evidence=w.evidence, now=b.ms(b.NOW2))
    assert (report.root_cause.kind, report.root_cause.service) == ("UPSTREAM_DRIFT", "orders-svc")
    assert report.affected_runs[0].records_failed == 380


def test_incident_on_silver_is_explained_by_the_upstream_drift(control_plane: ControlPlane) -> None:
    """An incident on the batch signature follows INTRODUCED_DRIFT to the real-time signature and its producer."""
    w = b.scenario2(control_plane)
    w.incident(b.make_incident("INC-8001", signature=b.FLASH, signal_id=b.DRIFT_SIGNAL, urn=b.SILVER,
                               primary="evd-01HQZA1234567890ABCDEFGH", trace=None, total=45230, failed=380,
                               first="2024-01-15T02:05:30.000Z", created="2024-01-15T02:10:01.000Z"))
    report = analyze_incident("INC-8001", graph=w.graph, evidence=w.evidence, incidents=w.incidents,
                              now=b.ms(b.NOW2))
    assert (report.root_cause.kind, report.root_cause.service) == ("UPSTREAM_DRIFT", "orders-svc")
    assert report.confidence.level == "HIGH"
    assert report.affected_runs[0].run_id == b.RUN
    assert report.actions[0].startswith('Add "FLASH_SALE"')


@pytest.mark.parametrize(("call", "message"), [
    (lambda w: analyze_incident("INC-404", graph=w.graph, evidence=w.evidence, incidents=w.incidents),
     "no incident 'INC-404' in the store; `signal-factory incidents list` shows the ids"),
    (lambda w: analyze_signature("MISSING_FIELD:nope", graph=w.graph, evidence=w.evidence),
     "no failure signature 'MISSING_FIELD:nope' in the graph or the evidence"),
])
def test_unknown_subjects_raise_a_clear_error(control_plane: ControlPlane, call: object, message: str) -> None:
    """An unknown incident or signature is a SignalFactoryError naming it and where to look, not a crash."""
    w = b.scenario2(control_plane)
    with pytest.raises(RcaLookupError) as err:
        call(w)  # type: ignore[operator]
    assert message in str(err.value)
