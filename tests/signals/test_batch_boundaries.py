"""Signals do not depend on where replay batches begin and end: a stall inside one batch is seen."""

from __future__ import annotations

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.timefmt import iso_ms
from signal_factory.model.evidence import FAIL, Evidence
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.intake import group, silences
from signal_factory.signals.model import CRITICAL, FRESHNESS_BREACH, OK, WARNING, Signal
from tests.signals.builders import MINUTE, ORDERS, evidence, ms, tally

T0 = ms("2024-01-15T10:00:00.000Z")
PAYMENTS = "urn:dp:payments:captured"


def _traffic() -> list[Evidence]:
    """orders:created (freshness SLO 5 min) every 15 s with a 13-min stall, a 7-min gap and a 3-min gap;
    payments every 20 s throughout (it moves the clock while orders is silent); some failures. Event order."""
    silent = [(T0 + 20 * MINUTE, T0 + 33 * MINUTE), (T0 + 50 * MINUTE, T0 + 57 * MINUTE),
              (T0 + 40 * MINUTE, T0 + 43 * MINUTE)]
    orders = [t for t in range(T0, T0 + 70 * MINUTE, 15_000) if not any(a < t < b for a, b in silent)]
    items = [(t, "o") for t in orders] + [(t, "p") for t in range(T0 + 7_000, T0 + 70 * MINUTE, 20_000)]
    out = []
    for n, (t, kind) in enumerate(sorted(items)):
        result = FAIL if n % 9 == 0 else "PASS"
        out.append(evidence(n, t, result) if kind == "o" else evidence(n, t, result, urn=PAYMENTS))
    return out


def _run(cp: ControlPlane, items: list[Evidence], size: int) -> list[Signal]:
    host = SignalEngineHost(cp)
    out: list[Signal] = []
    for i in range(0, len(items), size):
        out += host.add_evidence(items[i:i + size])
    out += host.advance_to(T0 + 75 * MINUTE)
    return out


def _encoded(signals: list[Signal], kind: str | None = None) -> list[bytes]:
    return sorted(msgspec.json.encode(s) for s in signals if kind is None or s.signal_type == kind)


def _freshness(signals: list[Signal]) -> list[bytes]:
    return _encoded(signals, FRESHNESS_BREACH)


@pytest.mark.parametrize("size", [7, 100, 1000])
def test_signals_are_the_same_at_any_batch_size(control_plane: ControlPlane, size: int) -> None:
    """The same records in batches of 1, 7, 100 or 1,000 give byte-identical signals, the stalls' FRESHNESS_BREACH
    included (1,000 holds the whole input: every stall is inside one batch)."""
    items = _traffic()
    assert len(items) < 1000
    one = _run(control_plane, items, 1)
    assert len(_freshness(one)) == 7
    assert _encoded(_run(control_plane, items, size)) == _encoded(one)


def test_a_stall_inside_one_batch_breaches_and_recovers_in_event_time(control_plane: ControlPlane) -> None:
    """One batch holding the whole stall reports WARNING at last + 5 min, CRITICAL at last + 10 min and OK at the
    first record after it; the 7-min gap is a WARNING, the 3-min gap nothing; the end tick finds it stale."""
    got = [msgspec.json.decode(b, type=Signal) for b in _freshness(_run(control_plane, _traffic(), 1000))]
    stamps = [(s.state, s.timestamp, s.metrics["lag_s"]) for s in sorted(got, key=lambda s: s.timestamp)]
    assert stamps == [
        (OK, "2024-01-15T10:00:00.000Z", 0.0),
        (WARNING, "2024-01-15T10:25:00.000Z", 300.0),
        (CRITICAL, "2024-01-15T10:30:00.000Z", 600.0),
        (OK, "2024-01-15T10:33:00.000Z", 0.0),
        (WARNING, "2024-01-15T10:55:00.000Z", 300.0),
        (OK, "2024-01-15T10:57:00.000Z", 0.0),
        (WARNING, "2024-01-15T11:14:45.000Z", 300.0),  # the tick at 11:15, 5 min 15 s after the last record
    ]


@pytest.mark.parametrize(("gap_ms", "expected"), [
    (5 * MINUTE, [("10:00:50", "10:07:00")]),  # the tally counts at its minute's start, as alone it would
    (30_000, [("10:00:10", "10:00:50"), ("10:00:50", "10:07:00")]),  # sub-minute interval: gaps inside a minute
    (8 * MINUTE, []),
])
def test_intake_finds_the_silences_between_records(gap_ms: int, expected: list[tuple[str, str]]) -> None:
    """Silences longer than the interval, as (last record before, first record after), from evidence and tallies."""
    items = [evidence(1, T0 + 10_000), evidence(2, T0 + 50_000), evidence(3, T0 + 7 * MINUTE + 30_000)]
    tallies = [tally(ORDERS, T0 + 7 * MINUTE, 4)]
    got = silences(group(items, tallies), items, ORDERS, gap_ms)
    assert [(iso_ms(a)[11:19], iso_ms(b)[11:19]) for a, b in got] == expected
