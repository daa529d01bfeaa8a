"""Alerting engine: Scenario 1's incident and page, dedup, escalation, auto-resolve and the lifecycle."""

from __future__ import annotations

import copy
import json

import pytest

from signal_factory.alerting.engine import (
    AUTO_RESOLVED,
    CREATED,
    UPDATED,
    AlertingEngine,
    IncidentNotFoundError,
    IncidentTransitionError,
)
from signal_factory.alerting.messages import incident_json
from signal_factory.alerting.notify import wire_body
from signal_factory.alerting.policy import AlertPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.incidents import Notification
from signal_factory.signals.model import CRITICAL, FRESHNESS_BREACH, OK, WARNING, Signal, TopFailure
from signal_factory.stores.ports import Store
from tests.alerting.conftest import ORDERS, SEED_PAGERDUTY, pagerduty_route, scenario_signal

SEED_INCIDENT = {
    "severity": "SEV-1",
    "title": "Contract Violation - orders:created - MISSING_FIELD:customer_id",
    "status": "OPEN",
    "dataset_urn": "urn:dp:orders:created",
    "signal_id": "sig-01HQXZ2NPQ5RS8TU0VW3XYZ789",
    "failure_signature": "MISSING_FIELD:customer_id",
    "suspected_producer": {"service": "orders-svc", "version": "v3.17", "confidence": "HIGH"},
    "evidence_summary": {"total_events": 1247, "failed_events": 1120, "failure_rate": "89.8%",
                         "first_failure": "2024-01-15T09:58:02.312Z"},
    "primary_evidence_id": "evd-01HQXY8MNP4QR7ST9VW2XYZ456",
    "primary_trace_id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5",
}


def _outbox(store: Store) -> list[Notification]:
    return store.outbox.list(limit=1000)


def _events(store: Store, route: str | None = None) -> list[str]:
    return [n.event for n in _outbox(store) if route is None or n.target == route]


def test_scenario1_incident(engine: AlertingEngine, store: Store) -> None:
    """CRITICAL CONTRACT_BREACH on tier-1 orders:created opens a SEV-1 incident shaped like Scenario 1 Step 5."""
    changes = engine.on_signal(scenario_signal(signal_id="sig-01HQXZ2NPQ5RS8TU0VW3XYZ789"))
    assert [c.kind for c in changes] == [CREATED]
    incident = changes[0].incident
    doc = incident_json(incident)
    assert {k: doc[k] for k in SEED_INCIDENT} == SEED_INCIDENT
    assert list(doc)[:4] == ["incident_id", "severity", "title", "status"]
    assert doc["impact"] == {"tier": 1, "classification": "revenue-critical",
                             "downstream_consumers": ["finance-pipeline", "analytics-dashboard", "crm-sync"],
                             "downstream_datasets": ["urn:dp:orders:bronze"]}
    assert incident.created_at == "2024-01-15T10:00:00.000Z"  # the signal's event time: deterministic
    assert incident.rca_link == f"http://127.0.0.1:8080/incidents/{incident.incident_id}"
    assert store.incidents.get(incident.incident_id) == incident


def test_scenario1_pagerduty_body(engine: AlertingEngine, store: Store, policy: AlertPolicy) -> None:
    """The PagerDuty trigger is the seed's (but the incident id and RCA link) plus the current figures,
    the optional Events API v2 fields (timestamp, component, group, class) and a link to the incident."""
    incident = engine.on_signal(scenario_signal())[0].incident
    [page] = [n for n in _outbox(store) if n.channel == "pagerduty"]
    route = policy.route(page.target)
    assert route is not None
    assert "routing_key" not in page.body  # the stored row holds no secret
    expected = copy.deepcopy(SEED_PAGERDUTY)
    expected["dedup_key"] = incident.incident_id
    details = expected["payload"]["custom_details"]  # type: ignore[index]
    details["incident_id"] = incident.incident_id
    details["rca_link"] = incident.rca_link
    details.update(failure_rate="89.8%", failed_events=1120, total_events=1247)  # type: ignore[attr-defined]
    expected["payload"].update(timestamp="2024-01-15T10:00:00.000Z", component="orders:created",  # type: ignore[attr-defined]
                               group="orders", **{"class": "CONTRACT_BREACH"})
    expected["links"] = [{"href": incident.rca_link, "text": f"Incident {incident.incident_id} and RCA"}]
    assert wire_body(page, route) == expected
    assert json.dumps(wire_body(page, route)).startswith('{"routing_key": "data-platform-oncall", "event_action"')
    assert (page.event, page.dedup_key, page.status) == ("trigger", incident.incident_id, "PENDING")


def test_repeats_update_one_incident_one_page(engine: AlertingEngine, store: Store) -> None:
    """Provisional, final and next-window CRITICAL signals make ONE incident and ONE trigger per route."""
    signals = [scenario_signal(0, provisional=True), scenario_signal(0), scenario_signal(1), scenario_signal(2)]
    kinds = [c.kind for s in signals for c in engine.on_signal(s)]
    assert kinds == [CREATED, UPDATED, UPDATED, UPDATED]
    [incident] = store.incidents.list()
    assert incident.signal_ids == [s.signal_id for s in signals]
    assert incident.signal_id == signals[0].signal_id
    assert _events(store) == ["trigger", "trigger"]  # one per route (PagerDuty, Slack)
    assert len({n.notification_id for n in _outbox(store)}) == 2


def test_replay_changes_nothing(engine: AlertingEngine, store: Store) -> None:
    """Re-processing the same signals (a replay, a restart) changes no incident and enqueues nothing."""
    signals = [scenario_signal(0), scenario_signal(1), scenario_signal(2, state=OK)]
    for s in signals:
        engine.on_signal(s)
    before = (store.incidents.list(), _outbox(store))
    assert [c for s in signals for c in engine.on_signal(s)] == []
    assert (store.incidents.list(), _outbox(store)) == before


def test_replay_after_resolve_opens_nothing(engine: AlertingEngine, store: Store) -> None:
    """A replayed failing signal whose incident was resolved since does not open a second incident."""
    first = engine.on_signal(scenario_signal(0))[0].incident
    engine.resolve(first.incident_id, "alice")
    assert engine.on_signal(scenario_signal(0)) == []
    assert len(store.incidents.list()) == 1


FLAPPING = [  # state, provisional, status after, ok_streak after
    (CRITICAL, False, "OPEN", 0), (OK, False, "OPEN", 1), (CRITICAL, False, "OPEN", 0), (OK, False, "OPEN", 1),
    (OK, False, "OPEN", 2), (OK, True, "OPEN", 2), (CRITICAL, True, "OPEN", 2), (CRITICAL, False, "OPEN", 0),
    (OK, False, "OPEN", 1), (OK, True, "OPEN", 1), (OK, False, "OPEN", 2), (OK, False, "RESOLVED", 3),
]


def test_flapping_pages_once_and_resolves_after_n_ok(engine: AlertingEngine, store: Store) -> None:
    """Flapping CRITICAL/OK pages once while open; only N consecutive final OKs resolve; provisionals never count."""
    for window, (state, provisional, status, streak) in enumerate(FLAPPING):
        changes = engine.on_signal(scenario_signal(window, state=state, provisional=provisional))
        [incident] = store.incidents.list()
        assert (incident.status, incident.ok_streak) == (status, streak), f"step {window}"
        assert [c.kind for c in changes][-1:] in ([], [CREATED], [UPDATED], [AUTO_RESOLVED])
    assert incident.resolution == "auto-resolved after 3 consecutive OK CONTRACT_BREACH windows"
    assert incident.resolved_at == scenario_signal(len(FLAPPING) - 1, state=OK).timestamp
    pd = [n for n in _outbox(store) if n.channel == "pagerduty"]
    assert [(n.event, n.body["event_action"]) for n in pd] == [("trigger", "trigger"), ("resolve", "resolve")]


def test_provisional_ok_never_resolves(engine: AlertingEngine, store: Store) -> None:
    """Provisional OK signals, however many, never resolve an incident nor count toward it."""
    engine.on_signal(scenario_signal(0))
    for w in range(1, 8):
        assert engine.on_signal(scenario_signal(w, state=OK, provisional=True)) == []
    [incident] = store.incidents.list()
    assert (incident.status, incident.ok_streak) == ("OPEN", 0)


def test_new_failure_after_resolve_opens_new_incident(engine: AlertingEngine, store: Store) -> None:
    """Once resolved an incident stays closed: the next failure opens (and pages) a new one."""
    first = engine.on_signal(scenario_signal(0))[0].incident
    engine.resolve(first.incident_id, "alice", "rolled back to v3.16")
    [change] = engine.on_signal(scenario_signal(5))
    assert change.kind == CREATED
    assert change.incident.incident_id != first.incident_id
    assert _events(store, "data-platform-oncall") == ["trigger", "resolve", "trigger"]


def test_acknowledge_then_resolve(engine: AlertingEngine, store: Store) -> None:
    """OPEN -> ACKNOWLEDGED -> RESOLVED, each step recorded and sent to every paged route."""
    incident = engine.on_signal(scenario_signal(0))[0].incident
    acked = engine.acknowledge(incident.incident_id, "alice")
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == ("ACKNOWLEDGED", "alice",
                                                                             "2024-01-15T10:03:20.000Z")
    engine.on_signal(scenario_signal(1))  # still failing: updates the acknowledged incident, no page
    resolved = engine.resolve(incident.incident_id, "bob", "rolled back to v3.16", at="2024-01-15T10:20:00.000Z")
    assert (resolved.status, resolved.resolved_at) == ("RESOLVED", "2024-01-15T10:20:00.000Z")
    assert resolved.resolution == "resolved by bob: rolled back to v3.16"
    assert resolved.signal_ids == [scenario_signal(0).signal_id, scenario_signal(1).signal_id]
    pd = [n.body for n in _outbox(store) if n.channel == "pagerduty"]
    assert pd[1:] == [{"event_action": "acknowledge", "dedup_key": incident.incident_id},
                      {"event_action": "resolve", "dedup_key": incident.incident_id}]
    assert _events(store, "team-slack") == ["trigger", "acknowledge", "resolve"]


def test_resolve_straight_from_open(engine: AlertingEngine) -> None:
    """An OPEN incident can be resolved without being acknowledged first."""
    incident = engine.on_signal(scenario_signal(0))[0].incident
    assert engine.resolve(incident.incident_id, "alice").status == "RESOLVED"


@pytest.mark.parametrize(("steps", "bad", "says"), [
    (["ack"], "ack", "it is ACKNOWLEDGED, and only OPEN incidents can be acknowledged"),
    (["resolve"], "ack", "it is RESOLVED"),
    (["resolve"], "resolve", "already RESOLVED"),
    (["ack", "resolve"], "resolve", "already RESOLVED (resolved by alice)"),
])
def test_invalid_transitions(engine: AlertingEngine, store: Store, steps: list[str], bad: str,
                             says: str) -> None:
    """Moves the lifecycle does not allow raise IncidentTransitionError saying why, and change nothing."""
    incident_id = engine.on_signal(scenario_signal(0))[0].incident.incident_id
    act = {"ack": lambda: engine.acknowledge(incident_id, "alice"),
           "resolve": lambda: engine.resolve(incident_id, "alice")}
    for step in steps:
        act[step]()
    before = (store.incidents.get(incident_id), _outbox(store))
    with pytest.raises(IncidentTransitionError, match=says.replace("(", r"\(").replace(")", r"\)")):
        act[bad]()
    assert (store.incidents.get(incident_id), _outbox(store)) == before


def test_unknown_incident(engine: AlertingEngine) -> None:
    """Acting on an id that does not exist names the open incidents instead."""
    engine.on_signal(scenario_signal(0))
    with pytest.raises(IncidentNotFoundError, match="no incident 'INC-999'; open incidents: INC-1"):
        engine.acknowledge("INC-999", "alice")


def test_escalation_notifies_once_per_level(control_plane: ControlPlane, store: Store) -> None:
    """WARNING (SEV-2) then CRITICAL (SEV-1): severity rises, the newly qualifying route gets its trigger,
    the one already paged gets an update; severity never drops while open."""
    policy = AlertPolicy(routes=(pagerduty_route(min_severity="SEV-1"),
                                 Route(name="team-slack", type="slack", url="https://hooks.invalid/x",
                                       min_severity="SEV-2")))
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox)
    [opened] = engine.on_signal(scenario_signal(0, state=WARNING))
    assert (opened.kind, opened.incident.severity) == (CREATED, "SEV-2")
    assert [(n.target, n.event) for n in _outbox(store)] == [("team-slack", "trigger")]
    [escalated] = engine.on_signal(scenario_signal(1))
    assert (escalated.kind, escalated.incident.severity, escalated.previous_severity) == (UPDATED, "SEV-1", "SEV-2")
    assert [(n.target, n.event) for n in _outbox(store)][1:] == [("data-platform-oncall", "trigger"),
                                                                  ("team-slack", "update")]
    slack_update = _outbox(store)[-1].body
    assert slack_update["text"].startswith("Escalated SEV-2 -> SEV-1: [SEV-1] Contract Violation")
    engine.on_signal(scenario_signal(2))
    [calmer] = engine.on_signal(scenario_signal(3, state=WARNING))
    assert calmer.incident.severity == "SEV-1"
    assert calmer.notification_ids == ()
    assert len(_outbox(store)) == 3


@pytest.mark.parametrize(("urn", "state"), [("urn:dp:inventory:updated", CRITICAL), ("urn:dp:orders:bronze", WARNING),
                                            ("urn:dp:orders:created", "UNKNOWN")])
def test_low_severity_opens_nothing(engine: AlertingEngine, store: Store, urn: str, state: str) -> None:
    """SEV-3 and below (CRITICAL on tier 3, WARNING on tier 2) and UNKNOWN open no incident and page no one."""
    assert engine.on_signal(scenario_signal(0, dataset_urn=urn, state=state)) == []
    assert store.incidents.list() == []
    assert _outbox(store) == []


def test_signal_without_failures(engine: AlertingEngine, store: Store) -> None:
    """A freshness breach keys its incident on the signal type and gets a fitting title and summary."""
    signal = Signal(signal_id="sig-fresh-1", signal_type=FRESHNESS_BREACH, dataset_urn="urn:dp:orders:bronze",
                    state=CRITICAL, timestamp="2024-01-15T11:00:00.000Z", metrics={"lag_seconds": 5400})
    incident = engine.on_signal(signal)[0].incident
    assert (incident.title, incident.failure_signature, incident.severity) == (
        "Freshness Breach - orders:bronze", FRESHNESS_BREACH, "SEV-2")
    assert incident.evidence_summary is None
    assert incident.suspected_producer is None
    assert incident.impact is not None
    assert incident.impact.downstream_datasets == ["urn:dp:orders:silver"]
    page = next(n for n in _outbox(store) if n.channel == "pagerduty").body
    assert page["payload"]["summary"] == "[SEV-2] Freshness Breach - orders:bronze"
    assert "suspected_cause" not in page["payload"]["custom_details"]
    assert page["payload"]["severity"] == "error"


def test_unknown_producer(engine: AlertingEngine) -> None:
    """Failures without an identified producer name no suspect; the cause line says so with the first failure time."""
    failure = TopFailure(signature="MISSING_FIELD:customer_id", count=3, first_seen="2024-01-15T09:58:02.312Z",
                         producer="UNKNOWN")
    incident = engine.on_signal(scenario_signal(0, top_failures=[failure]))[0].incident
    assert incident.suspected_producer is None
    from signal_factory.alerting.describe import suspected_cause
    assert suspected_cause(incident) == "unknown producer; first failure at 09:58 AM"


def test_other_failure_breaks_ok_streak(engine: AlertingEngine, store: Store) -> None:
    """While another signature keeps the (dataset, type) failing, the first incident's OK streak restarts."""
    first = engine.on_signal(scenario_signal(0))[0].incident
    engine.on_signal(scenario_signal(1, state=OK))
    other = TopFailure(signature="INVALID_FORMAT:email", count=900, first_seen="2024-01-15T10:06:00.000Z",
                       producer="orders-svc", producer_version="v3.17")
    kinds = [(c.kind, c.incident.failure_signature) for c in engine.on_signal(scenario_signal(2, top_failures=[other]))]
    assert kinds == [(UPDATED, "MISSING_FIELD:customer_id"), (CREATED, "INVALID_FORMAT:email")]
    assert store.incidents.get(first.incident_id).ok_streak == 0  # type: ignore[union-attr]


def test_slack_and_webhook_bodies(engine: AlertingEngine, control_plane: ControlPlane, store: Store) -> None:
    """Slack gets text + Block Kit blocks (no legacy attachments) with figures, event time and the incident
    link; a generic webhook gets the incident JSON and event."""
    policy = AlertPolicy(routes=(Route(name="chat", type="slack", url="https://hooks.invalid/s"),
                                 Route(name="hook", type="webhook", url="https://hooks.invalid/w")))
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox)
    incident = engine.on_signal(scenario_signal(0))[0].incident
    slack, hook = (n.body for n in _outbox(store))
    assert slack["text"] == (f"[SEV-1] Contract Violation - orders:created - MISSING_FIELD:customer_id "
                             f"<{incident.rca_link}|{incident.incident_id}>")
    assert "attachments" not in slack
    blocks = slack["blocks"]
    assert blocks[0]["text"]["text"].startswith(":red_circle: *[SEV-1] Contract Violation")
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Failure rate*\n89.8% (1,120 of 1,247 events)" in fields
    assert "*Suspected cause*\norders-svc v3.17 deployment at 09:58 AM" in fields
    assert "2024-01-15T10:00:00.000Z (event time)" in blocks[2]["elements"][0]["text"]
    assert blocks[3]["elements"][0]["url"] == incident.rca_link
    assert hook == {"event": "trigger", "source": "signal-factory", "incident": incident_json(incident)}
    assert hook["incident"]["status"] == "OPEN"
    assert ORDERS in json.dumps(hook)
