"""Confounders: a deploy of another service minutes apart, failures with no deploy, a legacy producer known only
by topic mapping, two signatures at once; plus a deploy after the first failure and an inferred deploy."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph import model as gm
from signal_factory.model.incidents import SuspectedProducer
from signal_factory.rca.analyze import analyze_incident
from signal_factory.rca.report import RCAReport
from tests.conftest import record
from tests.rca import builders as b


def _analyze(w: b.World, incident_id: str = "INC-7721") -> RCAReport:
    return analyze_incident(incident_id, graph=w.graph, evidence=w.evidence, incidents=w.incidents, now=b.ms(b.NOW))


@pytest.mark.parametrize("payments_at", ["2024-01-15T09:56:30.000Z", "2024-01-15T09:57:55.000Z"])
def test_other_service_deployed_minutes_apart_loses_on_producer_match(control_plane: ControlPlane,
                                                                      payments_at: str) -> None:
    """Before or after orders-svc (even closer to the failure), payments-svc loses: the failing records are
    orders-svc's; the report lists it under alternatives and says why."""
    w = b.scenario1(control_plane)
    w.deploy("payments-svc", "v1.2", payments_at, "77aa001")
    report = _analyze(w)
    assert (report.root_cause.service, report.root_cause.version) == ("orders-svc", "v3.17")
    assert report.confidence.level == "HIGH"
    (alt,) = report.alternatives
    assert (alt.service, alt.version, alt.verdict) == ("payments-svc", "v1.2", "ruled_out")
    assert alt.why == "failing evidence was produced by orders-svc, not payments-svc"
    assert "Also weighed: payments-svc v1.2 - failing evidence was produced by orders-svc" in report.explanation.text
    assert any(e.actor == "payments-svc" and "ruled out" in e.event for e in report.timeline)


def test_failures_with_no_deployment_are_unknown_and_low(control_plane: ControlPlane) -> None:
    """No deploy in the 2 h before the first failure: cause UNKNOWN, LOW confidence, said plainly."""
    report = _analyze(b.scenario1(control_plane, deployment=False))
    rc = report.root_cause
    assert rc.kind == "UNKNOWN"
    assert report.confidence.level == "LOW"
    assert report.confidence.score < 0.5
    assert "nothing was deployed in the 2 h before the first failure at 2024-01-15 09:58:02 UTC" in rc.statement
    assert "the failing records come from orders-svc v3.17 (HIGH identity)" in rc.statement
    assert "confidence is low" in rc.statement
    assert report.actions[0] == f"Inspect the primary evidence {b.PRIMARY} for {b.MISSING} on {b.ORDERS}"
    assert report.blast_radius  # what is hurt is known even when the cause is not


def test_only_another_services_deploy_nearby_is_not_blamed(control_plane: ControlPlane) -> None:
    """A deploy of a different service is no cause when the failing records name another producer."""
    w = b.scenario1(control_plane, deployment=False)
    w.deploy("payments-svc", "v1.2", "2024-01-15T09:57:00.000Z")
    report = _analyze(w)
    assert report.root_cause.kind == "UNKNOWN"
    assert "are of other services (payments-svc v1.2)" in report.root_cause.statement
    assert [a.service for a in report.alternatives] == ["payments-svc"]


def _legacy_world(control_plane: ControlPlane, *, headers: dict[str, str]) -> b.World:
    """legacy-inventory-svc deployed v2.4, then 40 inventory records that fail the schema."""
    w = b.World(control_plane)
    enforcer = b.enforcer_at(control_plane, "2024-01-15T09:58:11.100Z")
    records = [record({"sku": f"WIDGET-{i:03d}", "warehouse": "ams-1", "on_hand": "many"}, topic="raw.inventory.events",
                      headers=headers, offset=77121 + i, ts=b.ms("2024-01-15T09:58:11.000Z") + i) for i in range(40)]
    evidence = enforcer.process(records).evidence
    w.evidence.add_many(evidence)
    code = evidence[0].validation.reason_codes[0]
    urn = "urn:dp:inventory:updated"
    w.deploy("legacy-inventory-svc", "v2.4", "2024-01-15T09:57:30.000Z")
    fs = w.signature(code, urn, "2024-01-15T09:58:11.000Z", 40, evidence[0].evidence_id)
    w.signal("sig-inv", "CONTRACT_BREACH", "CRITICAL", "2024-01-15T10:00:00.000Z", urn, [fs])
    p = evidence[0].producer
    assert p is not None
    w.incident(b.make_incident("INC-9001", signature=code, signal_id="sig-inv", urn=urn,
                               primary=evidence[0].evidence_id, trace=None, total=40, failed=40,
                               first="2024-01-15T09:58:11.000Z",
                               producer=SuspectedProducer(service=p.id, version=p.version, confidence=p.confidence)))
    return w


def test_legacy_producer_known_by_topic_mapping_lowers_confidence(control_plane: ControlPlane) -> None:
    """MEDIUM identity (topic mapping, no version) still names the deploy, at lower confidence, and says why."""
    legacy = _analyze(_legacy_world(control_plane, headers={}), "INC-9001")
    headed = _analyze(_legacy_world(control_plane, headers={"x-obs-producer-service": "legacy-inventory-svc",
                                                            "x-obs-producer-version": "v2.4"}), "INC-9001")
    assert (legacy.root_cause.service, legacy.root_cause.version) == ("legacy-inventory-svc", "v2.4")
    assert legacy.confidence.level == "MEDIUM"
    assert headed.confidence.level == "HIGH"
    assert headed.confidence.score > legacy.confidence.score + 0.15
    why = {r.factor: r for r in legacy.confidence.reasons}
    assert (why["identity"].value, why["producer_match"].value) == (0.5, 0.6)
    assert "MEDIUM confidence (topic mapping only, no producer header)" in why["identity"].text
    assert "failing evidence names legacy-inventory-svc but no version" in why["producer_match"].text


def test_two_signatures_at_once_are_analysed_each_on_its_own(control_plane: ControlPlane) -> None:
    """Each incident gets its own report, naming the other signature as concurrent (with its incident); the
    shared window lowers signature determinism."""
    w = b.scenario1(control_plane)
    other = "TYPE_MISMATCH:total_amount"
    fs2 = w.signature(other, b.ORDERS, "2024-01-15T09:58:05.000Z", 380, b.PRIMARY)
    w.edge(gm.node_id(gm.DEPLOYMENT, "orders-svc:v3.17"), gm.INTRODUCED, fs2)
    w.edge(fs2, gm.CAUSED, gm.node_id(gm.SIGNAL, b.SIGNAL1))
    w.incident(b.make_incident("INC-7722", signature=other, failed=1500, first="2024-01-15T09:58:05.000Z"))
    first, second = _analyze(w, "INC-7721"), _analyze(w, "INC-7722")
    assert (first.root_cause.reason_code, second.root_cause.reason_code) == (b.MISSING, other)
    assert first.root_cause.version == second.root_cause.version == "v3.17"
    assert [(c.reason_code, c.incident_ids) for c in first.concurrent_signatures] == [(other, ["INC-7722"])]
    assert [(c.reason_code, c.incident_ids) for c in second.concurrent_signatures] == [(b.MISSING, ["INC-7721"])]
    share = {r.factor: r for r in first.confidence.reasons}["signature_determinism"]
    assert share.value == pytest.approx(1120 / 1500, abs=1e-3)
    assert "1,120 of 1,500 concurrent failures (75%)" in share.text
    assert f"A concurrent signature, {other} on {b.ORDERS}, is analysed on its own." in first.explanation.text


def test_deployment_after_the_first_failure_is_excluded(control_plane: ControlPlane) -> None:
    """A deploy minutes after the first failure cannot be its cause: listed as excluded, with the reason."""
    w = b.scenario1(control_plane)
    w.deploy("orders-svc", "v3.18", "2024-01-15T09:59:30.000Z")
    report = _analyze(w)
    assert report.root_cause.version == "v3.17"
    assert report.actions[0].startswith("Roll back orders-svc to v3.16")
    (alt,) = report.alternatives
    assert (alt.version, alt.verdict, alt.score) == ("v3.18", "excluded", None)
    assert "after the first failure: cannot be its cause" in alt.why


def test_inferred_deployment_is_named_with_less_confidence(control_plane: ControlPlane) -> None:
    """A deploy inferred from a new version in the evidence (no marker) is the cause, marked inferred, scored lower."""
    w = b.scenario1(control_plane, deployment=False)
    did = w.deploy("orders-svc", "v3.17", "2024-01-15T09:58:02.312Z", inferred=True)
    w.edge(did, gm.INTRODUCED, gm.node_id(gm.FAILURE_SIGNATURE, gm.signature_key(b.MISSING, b.ORDERS)))
    report = _analyze(w)
    assert (report.root_cause.kind, report.root_cause.inferred) == ("DEPLOYMENT", True)
    assert "(inferred from the evidence, no deployment marker)" in report.root_cause.statement
    marker = {r.factor: r for r in report.confidence.reasons}["cause_marker"]
    assert marker.value == 0.4
    assert report.actions[0] == ("Roll back orders-svc to the version before v3.17 "
                                 "(no earlier deployment of it in the graph)")


def test_a_deployment_hours_before_is_weak_evidence(control_plane: ControlPlane) -> None:
    """The producer's deploy 1 h 50 min before the first failure is still the cause, but MEDIUM, and says weak."""
    w = b.scenario1(control_plane, deployment=False)
    w.deploy("orders-svc", "v3.17", "2024-01-15T08:08:02.312Z")
    report = _analyze(w)
    assert report.root_cause.version == "v3.17"
    temporal = {r.factor: r for r in report.confidence.reasons}["temporal"]
    assert "1 h 50 min after the deployment (weak" in temporal.text
    assert report.confidence.level == "MEDIUM"


def test_an_earlier_deploy_of_the_same_service_loses_on_version(control_plane: ControlPlane) -> None:
    """orders-svc v3.16.5 half an hour earlier is weighed and loses (the failing records say v3.17); the
    rollback goes to it, the service's latest deployment before the culprit."""
    w = b.scenario1(control_plane)
    w.deploy("orders-svc", "v3.16.5", "2024-01-15T09:30:00.000Z", "5150aa0")
    report = _analyze(w)
    assert report.root_cause.version == "v3.17"
    (alt,) = report.alternatives
    assert (alt.version, alt.verdict) == ("v3.16.5", "lost")
    assert alt.score is not None
    assert alt.score < report.confidence.score
    assert alt.why.startswith("scored ")
    assert "for orders-svc v3.17: failing evidence was produced by orders-svc v3.17, not the deployed" in alt.why
    assert report.actions[0] == "Roll back orders-svc to v3.16.5 (deployed 2024-01-15 09:30:00 UTC)"
    assert any(e.event == "Deployment v3.16.5 (commit 5150aa0) - weighed, lost" for e in report.timeline)
