"""Clock-skewed evidence never moves a watermark or the freshness clock; it is counted (`clock_skew_count`)."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, PASS
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, FRESHNESS_BREACH, OK, Signal, encode_signal
from tests.signals.builders import MINUTE, ORDERS, evidence, ms, skewed, spread

T0 = ms("2024-01-15T09:55:00.000Z")
FUTURE = ms("2030-01-01T00:00:00.000Z")


def finals(out: list[Signal]) -> list[Signal]:
    return [s for s in out if s.signal_type == CONTRACT_BREACH and not s.provisional]


def test_a_future_record_first_then_300_failures_breaches(host: SignalEngineHost) -> None:
    """2030 first, then 300 FAILs: CONTRACT_BREACH CRITICAL over the 300, clock_skew_count 1, watermark in 2024."""
    out = host.add_evidence([skewed(0, FUTURE)])
    assert host.watermark(ORDERS) is None
    out += host.add_evidence(spread(T0, T0 + 3 * MINUTE, 300, 1, FAIL))
    assert host.watermark(ORDERS) is not None
    assert host.watermark(ORDERS) < T0 + 3 * MINUTE  # type: ignore[operator]
    out += host.advance_to(T0 + 6 * MINUTE)
    (final,) = finals(out)
    assert (final.state, final.metrics["fail_count"], final.metrics["clock_skew_count"]) == ("CRITICAL", 300, 1)
    assert final.details is not None
    assert "CLOCK_SKEW" in final.details["flags"]
    assert not [s for s in out if s.signal_type == FRESHNESS_BREACH and s.state != OK]


def test_a_skewed_record_after_data_counts_in_the_current_window(host: SignalEngineHost) -> None:
    """With trusted records before it, the skewed one is windowed at their latest time (a WARN in that window)."""
    past = skewed(3, ms("1970-01-01T00:00:00Z"), "CLOCK_SKEW:past")
    out = host.add_evidence([evidence(1, T0 + MINUTE, PASS), skewed(2, FUTURE), past])
    assert host.watermark(ORDERS) == T0 + MINUTE - 30_000
    out += host.advance_to(T0 + 6 * MINUTE)
    (final,) = finals(out)
    counts = (final.metrics["evidence_count"], final.metrics["warn_count"], final.metrics["clock_skew_count"])
    assert counts == (3, 2, 2)


def test_skewed_records_never_raise_freshness(host: SignalEngineHost) -> None:
    """A dataset fed on time, then one 2030 record: the freshness clock stays where the trusted records put it."""
    host.add_evidence(spread(T0, T0 + 4 * MINUTE, 20, 1))
    out = host.add_evidence([skewed(99, FUTURE)])
    assert host._s.clock_ms == T0 + 4 * MINUTE - 12_000 - 30_000  # last of 20 evenly spread, minus out-of-orderness
    assert [s for s in out if s.signal_type == FRESHNESS_BREACH] == []


def _stream() -> list:
    items = spread(T0, T0 + 2 * MINUTE, 60, 1)
    items.insert(0, skewed(100, FUTURE))
    items.insert(30, skewed(101, FUTURE))
    items += spread(T0 + 2 * MINUTE, T0 + 4 * MINUTE, 80, 200, FAIL)
    items.insert(100, skewed(102, ms("1999-01-01T00:00:00Z"), "CLOCK_SKEW:past"))
    return items


def _run(cp: ControlPlane, size: int, cut: int | None = None) -> list[bytes]:
    host = SignalEngineHost(cp)
    items = _stream()
    out: list[Signal] = []
    for i in range(0, len(items), size):
        if cut is not None and i >= cut:
            host = SignalEngineHost.restore(cp, host.snapshot())
            cut = None
        out += host.add_evidence(items[i:i + size])
    out += host.advance_to(T0 + 20 * MINUTE)
    out += host.flush()
    return [encode_signal(s) for s in out]


@pytest.mark.parametrize("size", [1, 7, 64])
def test_skew_handling_does_not_depend_on_batch_boundaries(control_plane: ControlPlane, size: int) -> None:
    """The same records in batches of 1, 7, 64 or all at once give byte-identical signals."""
    assert sorted(_run(control_plane, size)) == sorted(_run(control_plane, 1000))


@pytest.mark.parametrize("cut", [1, 30, 101])
def test_restore_mid_stream_keeps_skew_counts(control_plane: ControlPlane, cut: int) -> None:
    """A host restored from a snapshot between batches emits exactly what an uninterrupted one does."""
    assert _run(control_plane, 1, cut) == _run(control_plane, 1)
