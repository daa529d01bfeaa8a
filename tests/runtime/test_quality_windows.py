"""ODCS aggregate quality rules checked on a stream, end to end (issue 15 item 2): records with known breaches
in known five-minute windows go through `ReplayService` (enforce -> signals -> alerting); exactly those windows
breach exactly those rules, a warning rule never pages, and clean traffic gives no breach and no page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.rca.analyze import analyze
from signal_factory.rca.render import to_markdown
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.model import DQ_BREACH, Signal
from signal_factory.stores.memory import MemoryStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders"
START = parse_iso_ms("2024-01-15T10:00:00.000Z") or 0
MIN = 60_000
ORDERS = "urn:dp:orders:created"

# Added to the example contract (ODCS v3.1.0): one rule of each kind, FAIL unless said otherwise.
RULES = {
    "    properties:\n      - name: order_id\n": (
        "    quality:\n      - {metric: rowCount, mustBeGreaterOrEqualTo: 50, severity: error}\n"
        "    properties:\n      - name: order_id\n        unique: true\n"),
    "        logicalTypeOptions: {pattern: \"^[A-Z]{3}$\"}\n": (
        "        logicalTypeOptions: {pattern: \"^[A-Z]{3}$\"}\n"
        "        quality:\n          - {metric: invalidValues, arguments: {validValues: [USD, EUR]}, "
        "mustBeLessThan: 5}\n"),
    "            mustBe: 0\n            severity: warning\n": (
        "            mustBe: 0\n            severity: warning\n"
        "          - {metric: missingValues, arguments: {missingValues: [null, '']}, mustBeLessThan: 10, "
        "unit: percent, severity: warning}\n"),
}


@pytest.fixture
def quality_plane(tmp_path: Path) -> ControlPlane:
    root = tmp_path / "cp"
    shutil.copytree(EXAMPLE, root)
    path = root / "contracts" / "orders.created.odcs.yaml"
    text = path.read_text(encoding="utf-8")
    for anchor, replacement in RULES.items():
        assert text.count(anchor) == 1, anchor
        text = text.replace(anchor, replacement)
    path.write_text(text, encoding="utf-8")
    with (root / "alerting.yaml").open("a", encoding="utf-8") as f:
        f.write("\nroutes:\n  - {name: pd, type: pagerduty, routing_key: k}\n")
    return load_control_plane(root)


def _record(i: int, ts: int, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"order_id": f"ORD-2024-0115-{i:05d}", "customer_id": f"cust-{i % 97}",
                               "total_amount": 10.5 + i % 50, "currency": "USD", "discount_type": "COUPON"}
    payload.update(changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    body = {"event_id": f"01HQW9{i:020d}", "event_type": "orders.created.v1", "timestamp": iso_ms(ts),
            "payload": payload, "metadata": {"producer_service": "orders-svc", "producer_version": "v3.17"}}
    return {"topic": "raw.orders.events", "partition": 0, "offset": i, "tstype": "create", "ts": ts,
            "headers": ["x-obs-trace-id", f"{i:032x}", "x-obs-producer-service", "orders-svc",
                        "x-obs-producer-version", "v3.17", "x-obs-schema-id", "glue:orders.created:17"],
            "key": payload.get("order_id"), "payload": json.dumps(body)}


def _window(w: int, n: int = 60) -> list[tuple[int, int]]:
    """(record number, event time) for `n` records spread over five-minute window `w`."""
    step = 5 * MIN // n
    return [(w * 1000 + k, START + w * 5 * MIN + k * step) for k in range(n)]


def _traffic(breaches: bool) -> list[dict[str, Any]]:
    """Four windows of 60 records (the last with 30 when `breaches`) and one record in a fifth window.

    With `breaches`: window 1 has 6 order ids sent twice in its first minute (duplicateValues 6 > 0); window 2
    has 9 of 60 discount_type missing (5 absent, 4 empty: 15% >= 10%, a warning rule); window 3 has 30 records
    (rowCount 30 < 50), its first 5 in GBP (invalidValues 5, not < 5)."""
    out: list[dict[str, Any]] = []
    for w in range(4):
        rows = _window(w, 30 if breaches and w == 3 else 60)
        for k, (i, ts) in enumerate(rows):
            changes: dict[str, Any] = {}
            if breaches and w == 1 and 6 <= k < 12:
                changes["order_id"] = f"ORD-2024-0115-{i - 6:05d}"  # the id of a record earlier in the window
            if breaches and w == 2 and k < 9:
                changes["discount_type"] = None if k < 5 else ""
            if breaches and w == 3 and k < 5:
                changes["currency"] = "GBP"
            out.append(_record(i, ts, **changes))
    out.append(_record(9999, START + 20 * MIN + 40_000))
    return out


def _replay(cp: ControlPlane, records: list[dict[str, Any]], tmp_path: Path) -> MemoryStore:
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    store = MemoryStore()
    ReplayService(cp, store, Enforcer(cp)).replay([path], batch_size=37)
    return store


def _dq(store: MemoryStore, provisional: bool = False) -> list[Signal]:
    signals = [s for s in store.signals.list(dataset_urn=ORDERS, limit=10_000)
               if s.signal_type == DQ_BREACH and s.provisional == provisional]
    return sorted(signals, key=lambda s: (s.window.start if s.window else "", s.revision))


def test_known_breaches_in_known_windows(quality_plane: ControlPlane, tmp_path: Path) -> None:
    """Each window breaches exactly the rules its records break, with the rule and the measurement named."""
    store = _replay(quality_plane, _traffic(breaches=True), tmp_path)
    signals = _dq(store)
    assert [(s.window.start[11:16] if s.window else "", s.state, [t.signature for t in s.top_failures])
            for s in signals] == [
        ("10:00", "OK", []),
        ("10:05", "CRITICAL", ["QUALITY_DUPLICATE_VALUES:order_id"]),
        ("10:10", "WARNING", ["QUALITY_MISSING_VALUES:discount_type"]),
        ("10:15", "CRITICAL", ["QUALITY_ROW_COUNT:$", "QUALITY_INVALID_VALUES:currency"]),
        ("10:20", "OK", []),
    ]
    details = {s.window.start[11:16]: (s.details or {})["rules"] for s in signals if s.window}
    dup = details["10:05"][0]
    assert (dup["rule"], dup["metric"], dup["operator"], dup["bound"], dup["measured"], dup["rows"]) == (
        "schema[0].properties[0].unique", "duplicateValues", "mustBe", 0, 6.0, 60)
    missing = details["10:10"][0]
    assert (missing["operator"], missing["bound"], missing["unit"], missing["measured"], missing["severity"]) == (
        "mustBeLessThan", 10, "percent", 15.0, "WARN")
    rows, invalid = details["10:15"][:2]
    assert (rows["rule"], rows["measured"], invalid["measured"]) == ("schema[0].quality[0]", 30.0, 5.0)
    last = {r["metric"]: r for r in details["10:20"]}
    assert last["rowCount"]["breached"] is False
    assert "not_judged" in last["rowCount"]
    assert all((s.details or {}).get("contract_id") == "dc:orders.created:3" for s in signals)
    (top,) = next(s for s in signals if s.state == "CRITICAL").top_failures  # who and since when, for RCA
    assert (top.producer, top.producer_version, top.first_seen) == ("orders-svc", "v3.17", "2024-01-15T10:05:00.000Z")


def test_a_settled_breach_fires_before_its_window_closes(quality_plane: ControlPlane, tmp_path: Path) -> None:
    """A count already over its upper bound (5th duplicate, 5th GBP) fires a provisional signal in that
    minute (with the figures of the batch's counts for that minute); the rowCount floor and the percentage
    wait for the window's end."""
    store = _replay(quality_plane, _traffic(breaches=True), tmp_path)
    assert [(s.timestamp[11:19], s.state, [t.signature for t in s.top_failures], s.metrics.get("records_failed"))
            for s in _dq(store, provisional=True)] == [
        ("10:06:00", "CRITICAL", ["QUALITY_DUPLICATE_VALUES:order_id"], 6),  # the minute's figures: all 6
        ("10:16:00", "CRITICAL", ["QUALITY_INVALID_VALUES:currency"], 5),
    ]


def test_fail_rules_page_and_a_warning_rule_does_not(quality_plane: ControlPlane, tmp_path: Path) -> None:
    """The FAIL-rule windows open incidents named by the rule; the warning rule's window opens nothing."""
    store = _replay(quality_plane, _traffic(breaches=True), tmp_path)
    incidents = store.incidents.list(limit=100)
    assert sorted((i.severity, i.signal_type, i.failure_signature, i.created_at[11:19]) for i in incidents) == [
        ("SEV-1", DQ_BREACH, "QUALITY_DUPLICATE_VALUES:order_id", "10:06:00"),  # paged early, not at 10:10
        ("SEV-1", DQ_BREACH, "QUALITY_INVALID_VALUES:currency", "10:16:00"),
        ("SEV-1", DQ_BREACH, "QUALITY_ROW_COUNT:$", "10:20:00"),  # a floor is known at close
    ]
    assert all(i.status == "OPEN" for i in incidents)
    sent = store.outbox.list(limit=100)
    triggers = [(n.channel, n.incident_id) for n in sent if n.event == "trigger"]
    assert sorted(triggers) == sorted(("pagerduty", i.incident_id) for i in incidents)  # one page per incident
    assert {n.incident_id for n in sent} == {i.incident_id for i in incidents}  # nothing for the warning window


def test_clean_traffic_breaches_nothing_and_pages_no_one(quality_plane: ControlPlane, tmp_path: Path) -> None:
    """The same rules over clean records: every window OK, no incident, nothing in the outbox."""
    store = _replay(quality_plane, _traffic(breaches=False), tmp_path)
    signals = _dq(store)
    assert len(signals) == 5
    assert {s.state for s in signals} == {"OK"}
    assert store.incidents.list(limit=100) == []
    assert store.outbox.list(limit=100) == []


def test_rca_explains_a_quality_incident_like_any_other(quality_plane: ControlPlane, tmp_path: Path) -> None:
    """`rca INC-n` on a window-quality incident names the rule's signature, its timeline and the producer of
    the bad records."""
    store = _replay(quality_plane, _traffic(breaches=True), tmp_path)
    for incident in store.incidents.list(limit=100):
        text = to_markdown(analyze(store, incident_id=incident.incident_id, catalog=quality_plane.datasets))
        assert incident.failure_signature in text
        if incident.failure_signature != "QUALITY_ROW_COUNT:$":  # a count of rows has no bad record to blame
            assert "orders-svc v3.17" in text  # the producer of the bad records, as for a contract incident
        assert f"Incident {incident.incident_id} opened (SEV-1)" in text
