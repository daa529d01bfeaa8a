"""The paging policy: drift notifies and never pages, tiny counts never page, incidents stay bounded per
dataset, and every update carries the current figures (issue 13 item 2, issue 14 item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from signal_factory.alerting.engine import CREATED, AlertingEngine
from signal_factory.alerting.policy import AlertPolicy, PagingRules, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.incidents import Notification
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import (
    CONTRACT_BREACH,
    CRITICAL,
    DQ_BREACH,
    DRIFT_DETECTED,
    POINT,
    WARNING,
    Signal,
    TopFailure,
    Window,
)
from signal_factory.stores.ports import Store
from tests.alerting.conftest import ORDERS, WINDOW0_END, pagerduty_route, scenario_signal

T0 = parse_iso_ms("2024-01-15T09:58:02.000Z") or 0
SILVER = "urn:dp:orders:silver"


def drift_signal(signature: str, at_ms: int, urn: str = ORDERS, **details: Any) -> Signal:
    """A DRIFT_DETECTED WARNING point signal as the drift engine makes it."""
    stamp = iso_ms(at_ms)
    return Signal(signal_id=f"sig-drift-{urn}-{signature}-{at_ms}", signal_type=DRIFT_DETECTED, dataset_urn=urn,
                  state=WARNING, window=Window(stamp, stamp, POINT), timestamp=stamp, metrics={"count": 1},
                  details={"drift_type": "NEW_FAILURE_SIGNATURE", "signature": signature, **details},
                  top_failures=[TopFailure(signature, 1, stamp, "orders-svc", "v3.17", True)], revision=1)


def contract(at_ms: int, total: int, passed: int, signatures: dict[str, int], *, provisional: bool = False,
             state: str = CRITICAL, sid: str | None = None, urn: str = ORDERS) -> Signal:
    """A CONTRACT_BREACH signal with the given counts and failure signatures."""
    top = [TopFailure(sig, n, iso_ms(at_ms - 1000), "orders-svc", "v3.17")
           for sig, n in sorted(signatures.items(), key=lambda kv: -kv[1])[:5]]
    return Signal(signal_id=sid or f"sig-c-{at_ms}-{total}-{passed}", signal_type=CONTRACT_BREACH, dataset_urn=urn,
                  state=state, window=Window(iso_ms(at_ms - at_ms % 300_000), iso_ms(at_ms - at_ms % 300_000 + 300_000),
                                             "TUMBLING_5MIN"),
                  timestamp=iso_ms(at_ms), provisional=provisional, revision=0 if provisional else 1,
                  metrics={"evidence_count": total, "pass_count": passed, "warn_count": 0,
                           "fail_count": total - passed, "compliance_rate": passed / total if total else 1.0},
                  top_failures=top, evidence_refs=["evd-1"])


def _rows(store: Store) -> list[Notification]:
    return store.outbox.list(limit=10_000)


@pytest.fixture
def engine(control_plane: ControlPlane, store: Store) -> AlertingEngine:
    """The example's routes: PagerDuty at SEV-1, Slack at SEV-2, a webhook for everything; notices on."""
    policy = AlertPolicy(routes=(pagerduty_route(min_severity="SEV-1"),
                                 Route(name="chat", type="slack", url="https://hooks.invalid/s", min_severity="SEV-2"),
                                 Route(name="hook", type="webhook", url="https://hooks.invalid/w")))
    return AlertingEngine(control_plane, policy, store.incidents, store.outbox, notices=store.checkpoints)


def test_first_seen_signature_is_a_notice_not_a_page(engine: AlertingEngine, store: Store) -> None:
    """One new signature on a tier-1 dataset opens no incident, pages no one, and notifies Slack and the webhook."""
    assert engine.on_signal(drift_signal("MISSING_FIELD:customer_id", T0)) == []
    assert store.incidents.list() == []
    rows = _rows(store)
    assert sorted((n.target, n.event) for n in rows) == [("chat", "notice"), ("hook", "notice")]
    slack = next(n.body for n in rows if n.channel == "slack")
    assert "no SLO at risk yet: not paging" in slack["text"]
    assert "`MISSING_FIELD:customer_id`" in slack["blocks"][1]["text"]["text"]
    assert slack["blocks"][3]["elements"][0]["url"] == "http://127.0.0.1:8080/datasets/urn%3Adp%3Aorders%3Acreated"
    hook = next(n.body for n in rows if n.channel == "webhook")
    assert hook["notice"]["severity"] == "SEV-4"
    assert [s["signature"] for s in hook["notice"]["signatures"]] == ["MISSING_FIELD:customer_id"]


def test_new_signatures_in_one_window_make_one_notice(engine: AlertingEngine, store: Store) -> None:
    """Thirty new signatures within five minutes: one notice per route, updates at most once a minute,
    listing at most 20 signatures and counting the rest."""
    start = parse_iso_ms(WINDOW0_END) or 0  # the notice windows are tumbling: stay inside 10:00-10:05
    for i in range(30):
        engine.on_signal(drift_signal(f"UNKNOWN_ENUM:discount_type:X{i}", start + i * 5_000))
    hook = [n for n in _rows(store) if n.target == "hook"]
    assert {n.dedup_key for n in hook} == {hook[0].dedup_key}  # one notice
    assert hook[0].event == "notice"
    span_s = 29 * 5
    assert len(hook) <= 1 + span_s // 60
    assert [len(n.body["notice"]["signatures"]) + n.body["notice"]["overflow"] for n in hook] == [1, 13, 25]
    assert len(hook[-1].body["notice"]["signatures"]) == 20
    assert engine.notices is not None
    notice = engine.notices.current(ORDERS)
    assert notice is not None
    assert (len(notice.signatures), notice.overflow) == (20, 10)  # the last five wait for the next notice
    assert store.incidents.list() == []
    assert not [n for n in _rows(store) if n.channel == "pagerduty"]


def test_next_window_starts_a_new_notice_and_flushes_the_last(engine: AlertingEngine, store: Store) -> None:
    """Signatures held back by the throttle go out when the dataset's next notice window starts."""
    engine.on_signal(drift_signal("A:a", T0))
    engine.on_signal(drift_signal("B:b", T0 + 10_000))  # within the throttle: held
    engine.on_signal(drift_signal("C:c", T0 + 600_000))
    hook = [n for n in _rows(store) if n.target == "hook"]
    assert [(n.event, len(n.body["notice"]["signatures"])) for n in hook] == [
        ("notice", 1), ("notice_update", 2), ("notice", 1)]
    assert hook[0].dedup_key == hook[1].dedup_key != hook[2].dedup_key


def test_drift_attaches_to_the_open_contract_incident(engine: AlertingEngine, store: Store) -> None:
    """While a contract incident is open, a new signature is listed on it; no notice, no page."""
    engine.on_signal(scenario_signal(0))
    before = len(_rows(store))
    [change] = engine.on_signal(drift_signal("INVALID_FORMAT:email", T0 + 400_000))
    assert change.incident.new_signatures == ["INVALID_FORMAT:email"]
    assert change.notification_ids == ()
    assert len(_rows(store)) == before


def test_notice_signatures_join_the_incident_that_follows(engine: AlertingEngine, store: Store) -> None:
    """Scenario 1's order: the drift notice first, then INC-1 from the contract signal, listing the signature."""
    engine.on_signal(drift_signal("MISSING_FIELD:customer_id", T0))
    [created] = engine.on_signal(contract(T0 + 9_000, 212, 127, {"MISSING_FIELD:customer_id": 85}, provisional=True))
    assert (created.kind, created.incident.incident_id, created.incident.severity) == (CREATED, "INC-1", "SEV-1")
    assert created.incident.new_signatures == ["MISSING_FIELD:customer_id"]


@pytest.mark.parametrize(("total", "passed", "warned", "opens"), [
    (1, 0, 1, False), (40, 36, 0, False), (40, 20, 16, False), (40, 35, 0, True)])
def test_too_few_failing_records_never_page(engine: AlertingEngine, store: Store, total: int, passed: int,
                                            warned: int, opens: bool) -> None:
    """A CRITICAL contract signal pages only with at least 5 FAIL records: "0 of 1 failed" (one WARN) and
    4 FAILs do not; 5 do."""
    signal = contract(T0, total, passed, {"MISSING_FIELD:customer_id": total - passed})
    signal.metrics.update(warn_count=warned, fail_count=total - passed - warned)
    engine.on_signal(signal)
    assert bool(store.incidents.list()) is opens
    assert bool([n for n in _rows(store) if n.channel == "pagerduty"]) is opens


def test_batch_dq_breach_pages_per_the_matrix(engine: AlertingEngine, store: Store) -> None:
    """A CRITICAL DQ_BREACH on tier-1 silver with 4,000 failed records pages SEV-1; with 3 it does not."""
    def dq(failed: int, run: str) -> Signal:
        return Signal(signal_id=f"sig-dq-{run}", signal_type=DQ_BREACH, dataset_urn=SILVER, state=CRITICAL,
                      timestamp="2024-01-15T02:08:45.000Z", window=Window("2024-01-15T02:00:05.000Z",
                                                                          "2024-01-15T02:08:45.000Z", "BATCH_RUN"),
                      metrics={"records_processed": 45_230, "records_failed": failed,
                               "compliance_rate": 1 - failed / 45_230},
                      top_failures=[TopFailure("UNKNOWN_ENUM:discount_type:FLASH_SALE", failed,
                                               "2024-01-15T02:05:00.000Z")])
    assert engine.on_signal(dq(3, "a")) == []
    [change] = engine.on_signal(dq(4_000, "b"))
    assert change.incident.severity == "SEV-1"
    assert change.incident.evidence_summary is not None
    assert change.incident.evidence_summary.failure_rate == "8.8%"


def test_updates_carry_current_figures_throttled(engine: AlertingEngine, store: Store) -> None:
    """The early page says 40.1%; the final signal 2 minutes later re-triggers the same PagerDuty alert with
    89.8%; a near-identical figure, or one within a minute, sends nothing."""
    w_end = parse_iso_ms(WINDOW0_END) or 0
    engine.on_signal(contract(T0 + 9_000, 212, 127, {"MISSING_FIELD:customer_id": 85}, provisional=True))
    engine.on_signal(contract(T0 + 30_000, 400, 200, {"MISSING_FIELD:customer_id": 200}, provisional=True,
                              sid="sig-throttled"))  # material, but 21 s after the page: held
    engine.on_signal(contract(w_end, 1247, 127, {"MISSING_FIELD:customer_id": 1120}))
    engine.on_signal(contract(w_end + 300_000, 1250, 130, {"MISSING_FIELD:customer_id": 1120}))  # 89.6%: same
    pages = [n.body for n in _rows(store) if n.channel == "pagerduty"]
    assert [(p["event_action"], p["dedup_key"]) for p in pages] == [("trigger", "INC-1")] * 2
    assert [p["payload"]["summary"] for p in pages] == [
        "[SEV-1] Contract Violation - orders:created - 40.1% failure rate",
        "[SEV-1] Contract Violation - orders:created - 89.8% failure rate"]
    assert pages[1]["payload"]["timestamp"] == WINDOW0_END
    assert pages[1]["payload"]["custom_details"]["failed_events"] == 1120
    assert pages[1]["links"][0]["href"].endswith("/incidents/INC-1")
    slack = [n.body for n in _rows(store) if n.channel == "slack"]
    assert slack[-1]["text"].startswith("Updated: [SEV-1]")


def test_escalation_follows_a_worse_state(control_plane: ControlPlane, store: Store) -> None:
    """WARNING (SEV-2) then CRITICAL (SEV-1) on the same signature escalates at once, throttle or not."""
    policy = AlertPolicy(routes=(pagerduty_route(min_severity="SEV-2"),))
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox)
    engine.on_signal(contract(T0, 1000, 920, {"MISSING_FIELD:customer_id": 80}, state=WARNING))
    [change] = engine.on_signal(contract(T0 + 5_000, 1100, 600, {"MISSING_FIELD:customer_id": 500}))
    assert (change.previous_severity, change.incident.severity) == ("SEV-2", "SEV-1")
    pages = [n.body["payload"] for n in _rows(store)]
    assert [(p["severity"], p["summary"].split(" - ")[-1]) for p in pages] == [
        ("error", "8.0% failure rate"), ("critical", "45.5% failure rate")]


def test_spread_failures_key_one_dataset_incident(engine: AlertingEngine, store: Store) -> None:
    """Failures spread over many codes (none holds half) make the dataset's CONTRACT_BREACH incident."""
    sigs = {f"UNKNOWN_ENUM:status:V{i}": 1 for i in range(400)}
    [change] = engine.on_signal(contract(T0, 416, 16, sigs))
    assert change.incident.failure_signature == CONTRACT_BREACH
    assert change.incident.title == "Contract Violation - orders:created"


def test_signature_incidents_per_dataset_are_capped(control_plane: ControlPlane, store: Store) -> None:
    """Twelve windows, each dominated by a different code: 5 signature incidents, then one overflow incident."""
    policy = AlertPolicy(routes=(pagerduty_route(),), paging=PagingRules(max_signature_incidents=5))
    engine = AlertingEngine(control_plane, policy, store.incidents, store.outbox)
    for w in range(12):
        engine.on_signal(contract(T0 + w * 300_000, 500, 100, {f"MISSING_FIELD:f{w}": 400}))
    keys = sorted(i.failure_signature for i in store.incidents.list(limit=100))
    assert keys == [CONTRACT_BREACH] + [f"MISSING_FIELD:f{w}" for w in range(5)]
    assert len([n for n in _rows(store) if n.event == "trigger"]) == 6
