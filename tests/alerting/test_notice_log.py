"""Drift notices can be read back (API, CLI and UI read them with `list_notices`): every notice is kept,
with its signatures, window and the routes it went to; newest window first, by dataset and time."""

from __future__ import annotations

import pytest

from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.notices import list_notices, notice_json
from signal_factory.alerting.policy import AlertPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.stores.ports import Store
from tests.alerting.conftest import ORDERS, pagerduty_route
from tests.alerting.test_paging import SILVER, T0, drift_signal


@pytest.fixture
def engine(control_plane: ControlPlane, store: Store) -> AlertingEngine:
    """PagerDuty (never gets notices), a Slack route and a webhook (both take notices)."""
    policy = AlertPolicy(routes=(pagerduty_route(min_severity="SEV-1"),
                                 Route(name="chat", type="slack", url="https://hooks.invalid/s", min_severity="SEV-2"),
                                 Route(name="hook", type="webhook", url="https://hooks.invalid/w")))
    return AlertingEngine(control_plane, policy, store.incidents, store.outbox, notices=store.checkpoints)


def test_every_notice_is_kept_newest_first(engine: AlertingEngine, store: Store) -> None:
    """Three windows on orders and one on silver make four notices, newest window first; each lists its
    signatures in order of first sighting and the routes it went to (never PagerDuty)."""
    engine.on_signal(drift_signal("A:a", T0))
    engine.on_signal(drift_signal("B:b", T0 + 10_000))
    engine.on_signal(drift_signal("C:c", T0 + 600_000))
    engine.on_signal(drift_signal("D:d", T0 + 1_200_000))
    engine.on_signal(drift_signal("S:s", T0 + 600_000, urn=SILVER))
    found = list_notices(store.checkpoints)
    assert [(n.dataset_urn, n.window_start, [s.signature for s in n.signatures]) for n in found] == [
        (ORDERS, "2024-01-15T10:15:00.000Z", ["D:d"]),
        (ORDERS, "2024-01-15T10:05:00.000Z", ["C:c"]),
        (SILVER, "2024-01-15T10:05:00.000Z", ["S:s"]),
        (ORDERS, "2024-01-15T09:55:00.000Z", ["A:a", "B:b"])]
    assert all(n.routes == ["chat", "hook"] for n in found)
    assert found[-1].notified_total == 2  # the held-back B:b went out when the next window began


def test_filters_by_dataset_since_and_limit(engine: AlertingEngine, store: Store) -> None:
    """`dataset_urn` keeps one dataset's notices; `since_ms` those whose window ends after it; `limit` caps."""
    for i, at in enumerate((T0, T0 + 600_000, T0 + 1_200_000)):
        engine.on_signal(drift_signal(f"X:{i}", at))
    engine.on_signal(drift_signal("S:s", T0, urn=SILVER))
    assert [n.dataset_urn for n in list_notices(store.checkpoints, dataset_urn=SILVER)] == [SILVER]
    since = parse_iso_ms("2024-01-15T10:05:00.000Z")
    assert [n.window_start for n in list_notices(store.checkpoints, dataset_urn=ORDERS, since_ms=since)] == [
        "2024-01-15T10:15:00.000Z", "2024-01-15T10:05:00.000Z"]
    assert len(list_notices(store.checkpoints, limit=2)) == 2
    assert list_notices(store.checkpoints, dataset_urn="urn:dp:nope:nope") == []


def test_notice_json_names_each_field(engine: AlertingEngine, store: Store) -> None:
    """The JSON form has signatures as objects (signature, count, first_seen, drift_type) and the total."""
    engine.on_signal(drift_signal("MISSING_FIELD:customer_id", T0))
    [doc] = [notice_json(n) for n in list_notices(store.checkpoints)]
    assert doc["signatures"] == [{"signature": "MISSING_FIELD:customer_id", "count": 1,
                                  "first_seen": "2024-01-15T09:58:02.000Z", "drift_type": "NEW_FAILURE_SIGNATURE"}]
    assert (doc["total"], doc["routes"], doc["severity"]) == (1, ["chat", "hook"], "SEV-4")
    assert doc["notice_id"].startswith("NTC-")
