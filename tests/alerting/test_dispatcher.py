"""Outbox delivery over real HTTP to a local receiver: retries, backoff, order, dead letters, no secrets in logs."""

from __future__ import annotations

import logging

import pytest

from signal_factory.alerting.dispatcher import OutboxDispatcher
from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.notify import wire_body
from signal_factory.alerting.policy import AlertPolicy, RetryPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.incidents import Notification
from signal_factory.stores.ports import Store
from tests.alerting.conftest import Receiver, scenario_signal

KEY = "pd-R0UTING-key-s3cret"
SLACK_PATH = "/services/T0001/B0001/xoxb-SLACK-t0ken"


def _policy(receiver: Receiver, **retry: float) -> AlertPolicy:
    return AlertPolicy(
        routes=(Route(name="oncall", type="pagerduty", url=receiver.url("/v2/enqueue"), routing_key=KEY),
                Route(name="chat", type="slack", url=receiver.url(SLACK_PATH))),
        retry=RetryPolicy(**retry))  # type: ignore[arg-type]


def _dispatcher(store: Store, policy: AlertPolicy) -> OutboxDispatcher:
    return OutboxDispatcher(store.outbox, policy, clock=lambda: 0.0, sleep=lambda s: None, rng=lambda: 0.5)


def _expected(store: Store, policy: AlertPolicy) -> list[tuple[str, dict[str, object]]]:
    """(path, body) the receiver should hold: every row's wire body, once."""
    out = []
    for n in store.outbox.list(limit=1000):
        route = policy.route(n.target)
        assert route is not None
        assert route.url is not None
        out.append(("/" + route.url.reveal().split("/", 3)[3], wire_body(n, route)))
    return out


def _rows(store: Store) -> list[Notification]:
    return store.outbox.list(limit=1000)


def _open_incident(control_plane: ControlPlane, store: Store, policy: AlertPolicy) -> AlertingEngine:
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox, clock=lambda: 1705313000.0)
    engine.on_signal(scenario_signal(0))
    return engine


def test_delivers_exact_bodies(control_plane: ControlPlane, store: Store, receiver: Receiver) -> None:
    """A healthy receiver gets each notification once, byte-for-byte the wire body; rows become SENT."""
    policy = _policy(receiver)
    _open_incident(control_plane, store, policy)
    with _dispatcher(store, policy) as d:
        report = d.run_once(0.0)
    assert (report.sent, report.retrying, report.dead, report.pending) == (2, 0, 0, 0)
    assert receiver.received == _expected(store, policy)
    assert receiver.received[0][1]["routing_key"] == KEY
    assert [(n.status, n.attempts) for n in _rows(store)] == [("SENT", 1), ("SENT", 1)]


def test_outage_retries_with_backoff_then_delivers(control_plane: ControlPlane, store: Store,
                                                   receiver: Receiver) -> None:
    """503, then a stopped receiver: rows stay PENDING with exponential next_attempt_at; once it recovers all
    arrive exactly once and nothing is lost."""
    policy = _policy(receiver, base_backoff_s=1.0, max_backoff_s=300.0, jitter=0.2)
    _open_incident(control_plane, store, policy)
    receiver.status = 503
    with _dispatcher(store, policy) as d:
        first = d.run_once(0.0)
        assert (first.retrying, first.pending, first.next_due_at) == (2, 2, 1.0)
        assert [(n.status, n.attempts, n.next_attempt_at) for n in _rows(store)] == [("PENDING", 1, 1.0)] * 2
        assert _rows(store)[0].last_error is not None
        assert _rows(store)[0].last_error.startswith("HTTP 503")
        assert d.run_once(0.5).outcomes == {}  # not due yet
        receiver.stop()
        second = d.run_once(1.0)
        assert second.retrying == 2
        assert [(n.attempts, n.next_attempt_at) for n in _rows(store)] == [(2, 3.0)] * 2
        assert "connection failed" in (_rows(store)[0].last_error or "")
        receiver.status = 200
        receiver.start()
        assert d.run_once(2.9).outcomes == {}
        third = d.run_once(3.0)
    assert (third.sent, third.pending, third.next_due_at) == (2, 0, None)
    assert receiver.received == _expected(store, policy)
    assert [(n.status, n.attempts) for n in _rows(store)] == [("SENT", 3), ("SENT", 3)]


def test_resolve_never_overtakes_its_trigger(control_plane: ControlPlane, store: Store,
                                             receiver: Receiver) -> None:
    """While a trigger is being retried, the acknowledge and resolve behind it wait; then all go in order."""
    policy = _policy(receiver)
    engine = _open_incident(control_plane, store, policy)
    receiver.status = 503
    with _dispatcher(store, policy) as d:
        d.run_once(0.0)
        [incident] = store.incidents.list()
        engine.acknowledge(incident.incident_id, "alice")
        engine.resolve(incident.incident_id, "alice")
        held = d.run_once(0.5)
        assert (held.held, held.sent, held.next_due_at) == (4, 0, 1.0)
        receiver.status = 200
        done = d.run_once(1.0)
    assert (done.sent, done.pending) == (6, 0)
    oncall = [body["event_action"] for path, body in receiver.received if path == "/v2/enqueue"]
    assert oncall == ["trigger", "acknowledge", "resolve"]


def test_rejected_is_dead_with_reason_and_no_secret(control_plane: ControlPlane, store: Store,
                                                    receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """A 4xx other than 429 is DEAD at once; the reason is logged and stored, without key or URL token."""
    caplog.set_level(logging.DEBUG)
    policy = _policy(receiver)
    _open_incident(control_plane, store, policy)
    receiver.status = 400
    receiver.reply = f'{{"status":"invalid event","message":"bad routing_key {KEY}"}}'.encode()
    with _dispatcher(store, policy) as d:
        report = d.run_once(0.0)
    assert (report.dead, report.pending) == (2, 0)
    rows = _rows(store)
    assert [(n.status, n.attempts) for n in rows] == [("DEAD", 1), ("DEAD", 1)]
    assert rows[0].last_error == 'HTTP 400 {"status":"invalid event","message":"bad routing_key ***"}'
    assert "dead: HTTP 400" in caplog.text
    assert "oncall" in caplog.text
    stored = " ".join(n.last_error or "" for n in rows)
    for secret in (KEY, "xoxb-SLACK-t0ken"):
        assert secret not in caplog.text
        assert secret not in stored


def test_secrets_absent_from_logs_through_outage(control_plane: ControlPlane, store: Store,
                                                 receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """Retries, connection errors and successes log route names and outcomes, never keys or webhook tokens."""
    caplog.set_level(logging.DEBUG)
    policy = _policy(receiver)
    _open_incident(control_plane, store, policy)
    receiver.status = 503
    with _dispatcher(store, policy) as d:
        d.run_once(0.0)
        receiver.stop()
        d.run_once(1.0)
        receiver.status = 200
        receiver.start()
        d.run_once(10.0)
    assert "HTTP Request: POST" in caplog.text  # httpx's own request log is kept, redacted
    assert "retrying in" in caplog.text
    assert "sent to route chat" in caplog.text
    assert KEY not in caplog.text
    assert "xoxb-SLACK-t0ken" not in caplog.text


def test_max_attempts_then_dead(control_plane: ControlPlane, store: Store, receiver: Receiver) -> None:
    """After retry.max_attempts failed tries a notification is DEAD, saying it gave up."""
    policy = _policy(receiver, max_attempts=3)
    _open_incident(control_plane, store, policy)
    receiver.status = 503
    with _dispatcher(store, policy) as d:
        outcomes = [d.run_once(t).outcomes for t in (0.0, 1.0, 3.0)]
    assert [sorted(o.values()) for o in outcomes] == [["RETRY"] * 2, ["RETRY"] * 2, ["DEAD"] * 2]
    assert all(n.status == "DEAD" and n.attempts == 3 for n in _rows(store))
    assert (_rows(store)[0].last_error or "").startswith("gave up after 3 attempts: HTTP 503")
    assert receiver.attempts == 6


def test_429_honours_retry_after(control_plane: ControlPlane, store: Store, receiver: Receiver) -> None:
    """429 is retried, no sooner than the receiver's Retry-After."""
    policy = _policy(receiver)
    _open_incident(control_plane, store, policy)
    receiver.status, receiver.retry_after = 429, "30"
    with _dispatcher(store, policy) as d:
        assert d.run_once(100.0).retrying == 2
    assert [n.next_attempt_at for n in _rows(store)] == [130.0, 130.0]


def test_missing_secret_holds_without_spending_attempts(control_plane: ControlPlane, store: Store,
                                                        receiver: Receiver) -> None:
    """A route whose key variable is unset keeps its rows PENDING (attempts untouched) instead of losing them."""
    policy = AlertPolicy(routes=(Route(name="oncall", type="pagerduty", url=receiver.url("/v2/enqueue"),
                                       routing_key_env="SIGNAL_FACTORY_PAGERDUTY_KEY"),))
    _open_incident(control_plane, store, policy)
    with _dispatcher(store, policy) as d:
        report = d.run_once(0.0)
    assert (report.held, report.pending, report.next_due_at) == (1, 1, 300.0)
    [row] = _rows(store)
    assert (row.status, row.attempts) == ("PENDING", 0)
    assert "SIGNAL_FACTORY_PAGERDUTY_KEY is not set" in (row.last_error or "")
    assert receiver.attempts == 0


def test_removed_route_is_dead(control_plane: ControlPlane, store: Store, receiver: Receiver) -> None:
    """A row whose route was deleted from alerting.yaml is DEAD with that reason, not retried forever."""
    _open_incident(control_plane, store, _policy(receiver))
    with _dispatcher(store, AlertPolicy()) as d:
        assert d.run_once(0.0).dead == 2
    assert "no longer configured" in (_rows(store)[0].last_error or "")


@pytest.mark.slow
def test_drain_in_real_time(control_plane: ControlPlane, store: Store, receiver: Receiver) -> None:
    """drain() sleeps through the backoff on the real clock and returns once everything is delivered."""
    policy = _policy(receiver, base_backoff_s=0.02, max_backoff_s=0.1)
    _open_incident(control_plane, store, policy)
    receiver.fail_first = 3
    with OutboxDispatcher(store.outbox, policy) as d:
        report = d.drain(timeout_s=10)
    assert (report.sent, report.pending) == (2, 0)
    assert sorted(receiver.received, key=str) == sorted(_expected(store, policy), key=str)
    assert receiver.attempts == 5
