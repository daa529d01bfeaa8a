"""`run alerts`: the outbox delivered by a long-running dispatcher, one active per store, standbys take over.

Real HTTP receiver on 127.0.0.1, real stores (SQLite file and PostgreSQL); the incidents come from the
alerting engine exactly as the signals stage writes them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.policy import AlertPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.runtime.alerts import AlertsStage
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.database import SqlStore
from tests.alerting.conftest import Receiver, receiver, scenario_signal

__all__ = ["receiver"]  # the real HTTP receiver fixture of tests/alerting

KEY = "pd-R0UTING-key-s3cret"


def _policy(receiver: Receiver) -> AlertPolicy:
    return AlertPolicy(routes=(Route(name="oncall", type="pagerduty", url=receiver.url("/v2/enqueue"),
                                     routing_key=KEY),
                               Route(name="chat", type="slack", url=receiver.url("/slack"))))


def _incident(control_plane: ControlPlane, store: SqlStore, policy: AlertPolicy, window: int, **kw: object) -> None:
    """One incident (two notifications: PagerDuty + Slack), as the signals stage would commit it."""
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox, clock=lambda: 1705313000.0)
    with store.transaction():
        engine.on_signal(scenario_signal(window, **kw))


def _wait(pred: object, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_delivers_the_outbox_then_exits_when_idle(sql_url: str, control_plane: ControlPlane,
                                                  receiver: Receiver) -> None:
    """Every PENDING row goes out once; the rows become SENT; nothing pending -> idle exit."""
    policy = _policy(receiver)
    with open_store(sql_url) as store:
        _incident(control_plane, store, policy, 0)
        report = AlertsStage(store, policy, interval_s=0.05).run(threading.Event(), idle_exit_s=0.3)
        assert (report.sent, report.dead, report.pending) == (2, 0, 0)
        assert {n.status for n in store.outbox.list(limit=100)} == {"SENT"}
    assert sorted(path for path, _ in receiver.received) == ["/slack", "/v2/enqueue"]
    (body,) = [b for p, b in receiver.received if p == "/v2/enqueue"]
    assert body["dedup_key"] == "INC-1"
    assert KEY not in str([b for p, b in receiver.received if p == "/slack"])


def test_one_active_dispatcher_per_store_and_a_standby_takes_over(sql_url: str, control_plane: ControlPlane,
                                                                   receiver: Receiver) -> None:
    """Two dispatchers on one store: only the lock holder sends; when it stops, the standby delivers what
    arrives next. The receiver gets every notification exactly once."""
    policy = _policy(receiver)
    with open_store(sql_url) as store_a, open_store(sql_url) as store_b:
        a, b = AlertsStage(store_a, policy, interval_s=0.05), AlertsStage(store_b, policy, interval_s=0.05)
        stop_a, stop_b = threading.Event(), threading.Event()
        ta = threading.Thread(target=a.run, args=(stop_a,), daemon=True)
        ta.start()
        _wait(lambda: a.report.rounds > 0)  # A holds the lock
        tb = threading.Thread(target=b.run, args=(stop_b,), daemon=True)
        tb.start()
        _incident(control_plane, store_a, policy, 0)
        _wait(lambda: a.report.sent == 2)
        assert len(receiver.received) == 2
        assert b.report.rounds == 0  # B waited as a standby
        stop_a.set()
        ta.join(10)
        _incident(control_plane, store_a, policy, 0, state="OK")  # still the same incident: an update
        _incident(control_plane, store_a, policy, 1, top_failures=[], evidence_refs=[], details=None,
                  metrics={"evidence_count": 10, "pass_count": 0, "fail_count": 10, "compliance_rate": 0.0,
                           "slo_threshold": 0.95})
        _wait(lambda: b.report.sent > 0 and not store_a.outbox.list(status="PENDING", limit=100))
        stop_b.set()
        tb.join(10)
        rows = store_a.outbox.list(limit=100)
    assert {n.status for n in rows} == {"SENT"}
    assert a.report.sent + b.report.sent == len(rows)
    assert b.report.sent > 0
    assert len(receiver.received) == len(rows)
    per_body = Counter(repr(sorted(body.items())) for _, body in receiver.received)
    assert max(per_body.values()) == 1  # nothing delivered twice


def test_stop_before_the_lock_returns_at_once(sql_url: str, receiver: Receiver) -> None:
    """A standby asked to stop while waiting leaves without touching the outbox."""
    policy = _policy(receiver)
    with open_store(sql_url) as store_a, open_store(sql_url) as store_b:
        holder = AlertsStage(store_a, policy)
        assert holder.lock.try_acquire()
        stop = threading.Event()
        waiter = AlertsStage(store_b, policy)
        t = threading.Thread(target=waiter.run, args=(stop,), daemon=True)
        t.start()
        time.sleep(0.3)
        stop.set()
        t.join(5)
        holder.lock.release()
    assert not t.is_alive()
    assert waiter.report.rounds == 0
