"""Causes of volume drops and freshness stalls, and of a background signature that a deploy amplified."""

from __future__ import annotations

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph import model as gm
from signal_factory.model.evidence import FAIL
from signal_factory.model.incidents import Impact, Incident, SuspectedProducer
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms
from signal_factory.rca.analyze import analyze
from signal_factory.rca.confidence import ARRIVAL_CEILING
from signal_factory.rca.report import RCAReport
from signal_factory.signals.model import CRITICAL, FRESHNESS_BREACH, VOLUME_ANOMALY, WARNING, Signal, Window
from tests.rca import builders as b
from tests.signals.builders import evidence

MIN = 60_000
T0 = b.ms("2024-01-15T02:00:00.000Z")
DEPLOY = T0 + 120 * MIN  # 04:00
BRONZE = "urn:dp:orders:bronze"
CURRENCY = "MISSING_FIELD:currency"


def _incident(w: b.World, kind: str, urn: str, sig: Signal) -> None:
    w.store.signals.add(sig)
    w.node(gm.SIGNAL, sig.signal_id, {"type": kind, "state": sig.state, "timestamp": sig.timestamp,
                                      "window_start": sig.window.start if sig.window else None,
                                      "window_end": sig.window.end if sig.window else None}, b.ms(sig.timestamp))
    w.incident(Incident(incident_id="INC-9", severity="SEV-1", title=f"{kind} - {urn}", status="OPEN",
                        created_at=sig.timestamp, updated_at=sig.timestamp, dataset_urn=urn, signal_id=sig.signal_id,
                        signal_type=kind, failure_signature=kind, impact=Impact(tier=1),
                        signal_ids=[sig.signal_id]))


def _report(w: b.World, cp: ControlPlane) -> RCAReport:
    return analyze(w.store, incident_id="INC-9", catalog=cp.datasets, now=T0 + 6 * 60 * MIN)


def _volume_drop(cp: ControlPlane) -> b.World:
    """orders:created: 18 records a minute for two hours (v3.18), then 2 a minute from 04:00 (v3.19)."""
    w = b.World(cp)
    tallies = [PassTally(b.ORDERS, iso_ms(T0 + m * MIN), 17 if m < 120 else 1, "orders-svc", "v3.18" if m < 120
                         else "v3.19") for m in range(180)]
    records = [evidence(m, T0 + m * MIN + 30_000, version="v3.18" if m < 120 else "v3.19") for m in range(180)]
    w.evidence.add_many(records, tallies)
    w.deploy("orders-svc", "v3.18", "2024-01-12T09:00:00.000Z")
    w.deploy("orders-svc", "v3.19", iso_ms(DEPLOY), "c0ffee1")
    w.deploy("payments-svc", "v2.9", iso_ms(DEPLOY - 40_000))
    sig = Signal(signal_id="sig-vol", signal_type=VOLUME_ANOMALY, dataset_urn=b.ORDERS, state=CRITICAL,
                 window=Window(iso_ms(DEPLOY), iso_ms(DEPLOY + 60 * MIN), "TUMBLING_1HR"),
                 timestamp=iso_ms(DEPLOY + 60 * MIN),
                 metrics={"observed_count": 120, "baseline_median": 1080.0, "expected_low": 918.0})
    _incident(w, VOLUME_ANOMALY, b.ORDERS, sig)
    return w


def _stall(cp: ControlPlane, *, urn: str = b.ORDERS, deploys: bool = True, interval_min: int = 5) -> b.World:
    """Records every 10 s until 03:59:58, nothing until 04:15, then records again (v3.19, a rollback)."""
    w = b.World(cp)
    last = DEPLOY - 2_000
    times = list(range(last - 30 * MIN, last + 1, 10_000)) + list(range(DEPLOY + 15 * MIN, DEPLOY + 25 * MIN, 10_000))
    producer = "orders-svc" if urn == b.ORDERS else "orders-kafka-to-bronze"  # bronze is written by a stream job
    w.evidence.add_many([evidence(n, t, urn=urn, producer=producer, version="v3.19") for n, t in enumerate(times)])
    if deploys:
        w.deploy("orders-svc", "v3.19", "2024-01-12T09:00:00.000Z")
        w.deploy("orders-svc", "v3.20", iso_ms(DEPLOY), "dead001")
        w.deploy("orders-svc", "v3.19", iso_ms(DEPLOY + 15 * MIN), "rollback")  # the node is v3.19's: moved
    w.deploy("payments-svc", "v2.9", iso_ms(DEPLOY - 30_000))
    at = last + interval_min * MIN
    sig = Signal(signal_id="sig-fresh", signal_type=FRESHNESS_BREACH, dataset_urn=urn, state=WARNING,
                 window=Window(iso_ms(at), iso_ms(at), "POINT"), timestamp=iso_ms(at),
                 metrics={"last_event_at": iso_ms(last), "expected_interval_s": interval_min * 60.0,
                          "lag_s": interval_min * 60.0})
    _incident(w, FRESHNESS_BREACH, urn, sig)
    return w


def test_a_volume_drop_names_the_producers_deploy_at_its_onset(control_plane: ControlPlane) -> None:
    """The drop is located to 04:00 by records per minute; orders-svc v3.19 deployed then is the cause, MEDIUM at
    most, with the reason the ceiling is lower; payments-svc (not a producer) is ruled out."""
    report = _report(_volume_drop(control_plane), control_plane)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.commit) == ("DEPLOYMENT", "orders-svc", "v3.19", "c0ffee1")
    assert rc.onset == "2024-01-15T04:00:00.000Z"
    assert "records per minute fell from 18 to 2 at 04:00:00 UTC" in rc.statement
    assert 0.7 < report.confidence.score <= ARRIVAL_CEILING
    assert report.confidence.level == "MEDIUM"
    why = {r.factor: r.text for r in report.confidence.reasons}
    assert why["version_seen"] == ("the records still arriving after the drop are orders-svc v3.19's, the deployed "
                                   "version")
    assert "carries no failure signature" in why["signature"]
    (alt,) = [a for a in report.alternatives if a.service == "payments-svc"]
    assert alt.verdict == "ruled_out"
    assert report.actions[0].startswith("Roll back orders-svc to v3.18")


def test_a_stall_names_the_deploy_in_the_silence_and_excludes_the_rollback(control_plane: ControlPlane) -> None:
    """Last record 03:59:58, orders-svc v3.20 deployed 2 s later, nothing from it ever: v3.20 is the cause."""
    report = _report(_stall(control_plane), control_plane)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version) == ("DEPLOYMENT", "orders-svc", "v3.20")
    assert rc.statement.startswith("Deployment orders-svc v3.20 at 04:00:00 UTC stalled urn:dp:orders:created: its "
                                   "last record arrived at 03:59:58 UTC")
    why = {r.factor: r for r in report.confidence.reasons}
    assert why["temporal"].value > 0.99
    assert "before the next record was due" in why["temporal"].text
    assert why["version_seen"].text == "no record of orders-svc v3.20 ever reached urn:dp:orders:created"
    assert report.confidence.score <= ARRIVAL_CEILING
    assert any(a.service == "payments-svc" and a.verdict == "ruled_out" for a in report.alternatives)


def test_a_stall_with_no_producer_deploy_is_unknown(control_plane: ControlPlane) -> None:
    """Only another service deployed: UNKNOWN, low confidence, the dataset's producers named as where to look."""
    report = _report(_stall(control_plane, deploys=False), control_plane)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version) == ("UNKNOWN", None, None)
    assert rc.statement.startswith("No deployment of urn:dp:orders:created's producers (orders-svc)")
    assert report.confidence.level == "LOW"
    assert report.actions[0].startswith("Check orders-svc for errors")


def test_an_upstream_producers_deploy_explains_a_stall_below_it_with_less_confidence(
        control_plane: ControlPlane) -> None:
    """bronze (no producer of its own, fed by orders:created) stalls: orders-svc's deploy, one FEEDS hop up, is named,
    scored below the same deploy seen from orders:created itself."""
    below = _report(_stall(control_plane, urn=BRONZE, interval_min=60), control_plane)
    direct = _report(_stall(control_plane), control_plane)
    assert (below.root_cause.service, below.root_cause.version) == ("orders-svc", "v3.20")
    assert ", 1 FEEDS hop upstream," in below.root_cause.statement
    relation = {r.factor: r.text for r in below.confidence.reasons}["relation"]
    assert relation == "orders-svc produces a dataset 1 FEEDS hop upstream of urn:dp:orders:bronze, not " \
                       "urn:dp:orders:bronze itself"
    assert below.confidence.score < direct.confidence.score


def test_a_deploy_that_amplifies_a_background_signature_is_the_cause(control_plane: ControlPlane) -> None:
    """MISSING_FIELD:currency at 0.5 a minute for 20 min (v3.16), then on most records after v3.17's deploy: the onset
    is the jump, v3.17 is the cause (HIGH), not v3.16 whose records showed the signature first."""
    w = b.World(control_plane)
    start = DEPLOY - 20 * MIN
    noise = [evidence(n, start + n * 2 * MIN + 5_000, FAIL, CURRENCY, version="v3.16") for n in range(10)]
    burst = [evidence(100 + n, DEPLOY + 3_000 + n * 500, FAIL, CURRENCY) for n in range(400)]
    w.evidence.add_many(noise + burst)
    v16 = w.deploy("orders-svc", "v3.16", "2024-01-12T09:00:00.000Z", "aaa1111")
    w.deploy("orders-svc", "v3.17", iso_ms(DEPLOY), "bbb2222")
    fs = w.signature(CURRENCY, b.ORDERS, iso_ms(start + 5_000), 410, noise[0].evidence_id)
    w.edge(v16, gm.INTRODUCED, fs, {"first_evidence": noise[0].evidence_id, "timestamp": iso_ms(start + 5_000)})
    w.signal("sig-cb", "CONTRACT_BREACH", "CRITICAL", iso_ms(DEPLOY + 5 * MIN), b.ORDERS, [fs])
    w.incident(b.make_incident("INC-9", signature=CURRENCY, signal_id="sig-cb", primary=noise[0].evidence_id,
                               first=iso_ms(start + 5_000), created=iso_ms(start + 5_000), total=500, failed=410,
                               producer=SuspectedProducer(service="orders-svc", version="v3.16", confidence="HIGH")))
    report = _report(w, control_plane)
    rc = report.root_cause
    assert (rc.service, rc.version) == ("orders-svc", "v3.17")
    assert rc.onset == iso_ms(DEPLOY + 3_000)
    assert rc.seconds_to_onset == 3.0
    assert "from background noise into a breach" in rc.statement
    assert report.confidence.level == "HIGH"
    why = {r.factor: r.text for r in report.confidence.reasons}
    assert why["temporal"].startswith("breach onset 3 s after the deployment")
    assert why["producer_match"] == ("failing evidence was produced by orders-svc v3.17, the deployed service and "
                                     "version")
    (alt,) = report.alternatives
    assert (alt.version, alt.verdict) == ("v3.16", "lost")
