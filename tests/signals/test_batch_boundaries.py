"""Signals do not depend on where replay batches begin and end: a stall inside one batch is seen."""

from __future__ import annotations

import random

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, Evidence
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.intake import group, silences
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, FRESHNESS_BREACH, OK, WARNING, Signal
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


def _sampled_traffic(seed: int = 13) -> list[tuple[Evidence | None, PassTally | None]]:
    """orders:created at about 2 records/s for 20 min, 0.3% FAIL noise, a deploy at 10:12:17 that fails half the
    records for 2 min; PASS records are sampled at 10% (tier 3): the others arrive only as one-record tallies."""
    rng = random.Random(seed)
    out: list[tuple[Evidence | None, PassTally | None]] = []
    t = T0
    n = 0
    deploy = T0 + 12 * MINUTE + 17_000
    while t < T0 + 20 * MINUTE:
        bad = deploy <= t < deploy + 2 * MINUTE
        failed = rng.random() < (0.5 if bad else 0.003)
        if failed or rng.random() < 0.1:
            out.append((evidence(n, t, FAIL if failed else "PASS"), None))
        else:
            out.append((None, tally(ORDERS, t - t % MINUTE, 1)))
        n += 1
        t += int(rng.expovariate(1 / 500))
    return out


def _run_sampled(cp: ControlPlane, items: list[tuple[Evidence | None, PassTally | None]], size: int) -> list[Signal]:
    """Replay in batches of `size` records: each batch carries its kept evidence and its tallies per minute."""
    host = SignalEngineHost(cp)
    out: list[Signal] = []
    for i in range(0, len(items), size):
        chunk = items[i:i + size]
        per_minute: dict[str, int] = {}
        for _, tl in chunk:
            if tl is not None:
                per_minute[tl.minute] = per_minute.get(tl.minute, 0) + tl.count
        tallies = [tally(ORDERS, ms(m), k) for m, k in per_minute.items()]
        out += host.add_evidence([ev for ev, _ in chunk if ev is not None], tallies)
    out += host.advance_to(T0 + 30 * MINUTE)
    return out


@pytest.mark.parametrize("size", [7, 100, 1000])
def test_sampled_pass_tallies_give_the_same_signals_at_any_batch_size(control_plane: ControlPlane, size: int) -> None:
    """With PASS sampled at 10% (tallies per dataset-minute), batches of 1, 7, 100 or 1,000 records give byte-identical
    signals, the deploy's provisional CONTRACT_BREACH ones (firing record and figures) included."""
    items = _sampled_traffic()
    one = _run_sampled(control_plane, items, 1)
    early = [s for s in one if s.signal_type == CONTRACT_BREACH and s.provisional]
    assert any(s.state == CRITICAL for s in early)
    assert min(s.timestamp for s in early) >= "2024-01-15T10:12:17.000Z"
    assert _encoded(_run_sampled(control_plane, items, size)) == _encoded(one)


def test_a_tally_counts_after_the_records_of_its_own_minute(control_plane: ControlPlane) -> None:
    """A tally held in one batch counts once its dataset's records move past its minute (in the window figures),
    and a stream that goes quiet counts it when the watermark passes the minute: none is lost."""
    host = SignalEngineHost(control_plane)
    host.add_evidence([evidence(0, T0 + 1_000)], [tally(ORDERS, T0, 9)])
    host.add_evidence([evidence(1, T0 + MINUTE + 1_000)], [tally(ORDERS, T0 + MINUTE, 4)])
    final = [s for s in host.advance_to(T0 + 30 * MINUTE) if s.signal_type == CONTRACT_BREACH and not s.provisional]
    assert final
    assert {s.metrics["evidence_count"] for s in final if s.window.start == "2024-01-15T10:00:00.000Z"} == {15}
