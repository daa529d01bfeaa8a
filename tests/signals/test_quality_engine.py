"""The per-window quality engine inside `SignalEngineHost`: judged at close, corrected by late data, silent
windows judged on rowCount, the same signals after a snapshot/restore, and the paging rule for them."""

from __future__ import annotations

import pytest

from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.policy import AlertPolicy
from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import DQ_BREACH, Signal
from signal_factory.stores.memory import MemoryStore
from tests.runtime.test_quality_windows import MIN, ORDERS, START, quality_plane  # noqa: F401 - the fixture

ROWS = "schema[0].quality[0]"  # rowCount >= 50, FAIL
CURRENCY = "schema[0].properties[3].quality[0]"  # invalidValues < 5 rows, FAIL
DISCOUNT = "schema[0].properties[5].quality[1]"  # missingValues < 10 percent, WARN


def _tally(minute: int, rows: int, **bad: int) -> QualityTally:
    keys = {"currency": CURRENCY, "discount": DISCOUNT}
    return QualityTally(ORDERS, START + minute * MIN, rows, {keys[k]: n for k, n in bad.items()})


def _dq(signals: list[Signal]) -> list[tuple[str, int, str, list[str]]]:
    return [(s.window.start[11:16] if s.window else "", s.revision, s.state, [t.signature for t in s.top_failures])
            for s in signals if s.signal_type == DQ_BREACH]


def test_judged_at_close_and_corrected_by_late_data(quality_plane: ControlPlane) -> None:  # noqa: F811
    """Nothing before the watermark passes the window's end; then one final signal; a late minute within the
    allowed lateness gives revision 2 with the new verdict."""
    host = SignalEngineHost(quality_plane)
    assert _dq(host.add_evidence([], [], [_tally(m, 12) for m in range(5)])) == []
    assert _dq(host.advance_to(START + 5 * MIN)) == [("10:00", 1, "OK", [])]
    late = host.add_evidence([], [], [_tally(2, 3, currency=5)])
    assert _dq(late + host.advance_to(START + 6 * MIN)) == [
        ("10:00", 2, "CRITICAL", ["QUALITY_INVALID_VALUES:currency"])]


def test_a_silent_window_breaches_a_row_count_floor(quality_plane: ControlPlane) -> None:  # noqa: F811
    """Windows with no record at all are judged too (rowCount 0 < 50) once the watermark passes them."""
    host = SignalEngineHost(quality_plane)
    host.add_evidence([], [], [_tally(m, 12) for m in range(5)])
    assert _dq(host.advance_to(START + 20 * MIN)) == [
        ("10:00", 1, "OK", []), ("10:05", 1, "CRITICAL", ["QUALITY_ROW_COUNT:$"]),
        ("10:10", 1, "CRITICAL", ["QUALITY_ROW_COUNT:$"]), ("10:15", 1, "CRITICAL", ["QUALITY_ROW_COUNT:$"])]


def test_snapshot_restore_gives_the_same_signals(quality_plane: ControlPlane) -> None:  # noqa: F811
    """A host restored mid-window (digests, counts and all) emits what an uninterrupted one does."""
    first = [_tally(m, 12, discount=2) for m in range(3)]
    rest = [_tally(m, 12, discount=1, currency=2) for m in range(3, 5)]
    one = SignalEngineHost(quality_plane)
    one.add_evidence([], [], first)
    two = SignalEngineHost.restore(quality_plane, one.snapshot())
    expected = one.add_evidence([], [], rest) + one.advance_to(START + 5 * MIN)
    got = two.add_evidence([], [], rest) + two.advance_to(START + 5 * MIN)
    assert got == expected
    assert _dq(got) == [("10:00", 1, "WARNING", ["QUALITY_MISSING_VALUES:discount_type"])]


@pytest.mark.parametrize(("bad", "state", "severity"), [
    ({"discount": 30}, "WARNING", "SEV-3"),  # a warning rule breached: never a page, whatever the tier
    ({"currency": 6}, "CRITICAL", "SEV-1"),  # a FAIL rule with >= 5 bad records: a page (tier 1)
    ({}, "CRITICAL", "SEV-1"),  # rowCount 40 < 50 (no bad records to count): a page
])
def test_page_rule_for_window_quality(quality_plane: ControlPlane, bad: dict[str, int], state: str,  # noqa: F811
                                      severity: str) -> None:
    """Severity of a window's DQ_BREACH: FAIL rules page per the matrix, WARN rules are at most SEV-3."""
    host = SignalEngineHost(quality_plane)
    host.add_evidence([], [], [_tally(0, 40 if not bad else 60, **bad)])
    (signal,) = [s for s in host.advance_to(START + 5 * MIN) if s.signal_type == DQ_BREACH]
    store = MemoryStore()
    engine = AlertingEngine(quality_plane, AlertPolicy(), store.incidents, store.outbox)
    assert (signal.state, engine.severity(signal)) == (state, severity)
