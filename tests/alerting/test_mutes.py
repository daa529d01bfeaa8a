"""Mute / snooze: a muted dataset or signature pages no one (rows MUTED, nothing on the wire) while the
incident still opens; a cancelled or expired mute lets the next change page; bad mutes are refused."""

from __future__ import annotations

import pytest

from signal_factory.alerting.dispatcher import OutboxDispatcher
from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.mutes import DATASET, SIGNATURE, MuteBook, MuteError, parse_duration_ms
from signal_factory.alerting.policy import AlertPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.stores.ports import Store
from tests.alerting.conftest import ORDERS, Receiver, scenario_signal

NOW_S = 1_705_313_000.0  # the dispatcher's (wall) clock in these tests
NOW_MS = int(NOW_S * 1000)


def _policy(receiver: Receiver) -> AlertPolicy:
    return AlertPolicy(routes=(Route(name="oncall", type="pagerduty", url=receiver.url("/v2/enqueue"),
                                     routing_key="pd-key"),))


def _dispatcher(store: Store, policy: AlertPolicy) -> OutboxDispatcher:
    return OutboxDispatcher(store.outbox, policy, clock=lambda: NOW_S, sleep=lambda s: None, rng=lambda: 0.5,
                            mutes=MuteBook(store.checkpoints))


@pytest.mark.parametrize(("kind", "target"), [(DATASET, ORDERS), (SIGNATURE, "MISSING_FIELD:customer_id")])
def test_muted_trigger_is_not_sent_but_the_incident_opens(control_plane: ControlPlane, store: Store,
                                                           receiver: Receiver, kind: str, target: str) -> None:
    """With the dataset or the signature muted, the SEV-1 incident opens and its trigger is MUTED, not sent."""
    policy = _policy(receiver)
    with store.transaction():
        mute = MuteBook(store.checkpoints).add(kind, target, until_ms=NOW_MS + 3_600_000, reason="backfill",
                                               by="alice", now_ms=NOW_MS)
    changes = AlertingEngine(control_plane, policy, store.incidents, store.outbox).on_signal(scenario_signal(0))
    assert [c.kind for c in changes] == ["created"]
    with _dispatcher(store, policy) as d:
        report = d.run_once(NOW_S)
    assert (report.sent, report.muted, report.dead, report.pending) == (0, 1, 0, 0)
    assert receiver.received == []
    row = store.outbox.list(limit=10)[0]
    assert row.status == "MUTED"
    assert row.last_error is not None
    assert mute.mute_id in row.last_error
    assert "backfill" in row.last_error


def test_other_datasets_still_page_and_a_cancelled_mute_pages_again(control_plane: ControlPlane, store: Store,
                                                                    receiver: Receiver) -> None:
    """A mute covers only its target; once cancelled, the incident's next change is delivered."""
    policy = _policy(receiver)
    book = MuteBook(store.checkpoints)
    with store.transaction():
        other = book.add(DATASET, "urn:dp:inventory:updated", until_ms=NOW_MS + 60_000, reason="x", by="a",
                         now_ms=NOW_MS)
        mine = book.add(DATASET, ORDERS, until_ms=NOW_MS + 60_000, reason="deploy", by="a", now_ms=NOW_MS)
    assert book.covering(ORDERS, None, NOW_MS) == mine
    assert book.covering("urn:dp:inventory:updated", None, NOW_MS) == other
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox, clock=lambda: NOW_S)
    engine.on_signal(scenario_signal(0))
    with _dispatcher(store, policy) as d:
        assert d.run_once(NOW_S).muted == 1
    with store.transaction():
        book.cancel(mine.mute_id, by="bob", now_ms=NOW_MS + 1)
    engine.resolve("INC-1", "bob", "fixed")
    with _dispatcher(store, policy) as d:
        report = d.run_once(NOW_S)
    assert (report.sent, report.muted) == (1, 0)
    assert receiver.received[0][1]["event_action"] == "resolve"


def test_a_mute_ends_by_itself() -> None:
    """Past its end, a mute covers nothing; `active` lists only running ones."""
    from signal_factory.stores.memory import MemoryStore

    book = MuteBook(MemoryStore().checkpoints)
    mute = book.add(SIGNATURE, "S", until_ms=NOW_MS + parse_duration_ms("2h"), reason="r", by="a", now_ms=NOW_MS)
    assert book.covering(None, "S", NOW_MS + 7_199_999) == mute
    assert book.covering(None, "S", NOW_MS + 7_200_000) is None
    assert book.active(NOW_MS + 7_200_000) == []
    assert [m.mute_id for m in book.all()] == [mute.mute_id]


@pytest.mark.parametrize(("kind", "target", "until", "reason", "says"), [
    ("topic", "x", 60_000, "r", "not one of"),
    (DATASET, " ", 60_000, "r", "needs a target"),
    (DATASET, "x", 0, "r", "not in the future"),
    (DATASET, "x", 31 * 86_400_000, "r", "at most 30 days"),
    (DATASET, "x", 60_000, " ", "say why"),
])
def test_bad_mutes_are_refused_with_the_fix(kind: str, target: str, until: int, reason: str, says: str) -> None:
    """Unknown kind, no target, an end in the past, over 30 days, or no reason: a clear error."""
    from signal_factory.stores.memory import MemoryStore

    with pytest.raises(MuteError, match=says):
        MuteBook(MemoryStore().checkpoints).add(kind, target, until_ms=NOW_MS + until, reason=reason, by="a",
                                                now_ms=NOW_MS)
    with pytest.raises(MuteError, match="not a duration"):
        parse_duration_ms("soon")
