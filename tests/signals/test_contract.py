"""CONTRACT_BREACH: Scenario 1's numbers, early firing, tallies, bounds and flapping."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, PASS, WARN
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, OK, SLIDING_15MIN, TUMBLING_5MIN, WARNING, Signal
from tests.signals.builders import MINUTE, MISSING, ORDERS, evidence, feed, ms, scenario1, spread, tally

FIRST_FAIL = ms("2024-01-15T09:58:02.312Z")
WINDOW_END = ms("2024-01-15T10:00:00.000Z")


def contract(signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if s.signal_type == CONTRACT_BREACH]


def test_scenario1_final_signal_matches_the_seed(host: SignalEngineHost) -> None:
    """1,247 evidence (127 PASS, 1,120 FAIL) -> final CRITICAL at 10:00 with the seed's metrics and top failure."""
    out = feed(host, scenario1()) + host.advance_to(WINDOW_END + 30_000)
    final = [s for s in contract(out) if not s.provisional]
    assert len(final) == 1
    sig = final[0]
    assert (sig.state, sig.revision, sig.timestamp) == (CRITICAL, 1, "2024-01-15T10:00:00.000Z")
    assert sig.window is not None
    assert (sig.window.start, sig.window.end, sig.window.type) == (
        "2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z", TUMBLING_5MIN)
    m = sig.metrics
    assert (m["evidence_count"], m["pass_count"], m["fail_count"], m["slo_threshold"]) == (1247, 127, 1120, 0.95)
    assert m["compliance_rate"] == 0.1018
    assert m["compliance_rate"] == pytest.approx(0.102, abs=5e-4)
    top = sig.top_failures[0]
    assert (top.signature, top.count, top.first_seen, top.producer, top.producer_version) == (
        MISSING, 1120, "2024-01-15T09:58:02.312Z", "orders-svc", "v3.17")
    assert sig.evidence_refs == [f"evd-{1000 + i:026d}" for i in range(10)]


def test_scenario1_fires_a_provisional_critical_within_seconds(host: SignalEngineHost) -> None:
    """The breach is provisional CRITICAL ~9 s after the first failure, long before the window closes at 10:00."""
    out = contract(feed(host, scenario1()))
    assert [s.provisional for s in out] == [True]
    early = out[0]
    assert (early.state, early.revision) == (CRITICAL, 0)
    triggered = ms(early.timestamp)
    assert 0 < triggered - FIRST_FAIL <= 10_000
    assert WINDOW_END - triggered > 100_000
    assert early.metrics["evidence_count"] == 127 + 85  # 127 / 212 = 0.599 <= 0.80 - 0.2, first time
    final = contract(host.advance_to(WINDOW_END + 30_000))
    assert [(s.provisional, s.revision) for s in final] == [(False, 1)]
    assert final[0].signal_id != early.signal_id


def test_scenario1_state_record_matches_step4(host: SignalEngineHost) -> None:
    """The contract_compliance state carries Step 4's fields: score, breach start, producer, evidence sample."""
    feed(host, scenario1())
    host.advance_to(WINDOW_END + 30_000)
    state = next(s for s in host.states() if s.state_key == "contract_compliance")
    assert (state.dataset_urn, state.state, state.score) == (ORDERS, CRITICAL, 0.1018)
    assert state.breach_start == "2024-01-15T09:58:02.312Z"
    assert (state.window_end, state.last_updated) == ("2024-01-15T10:00:00.000Z", "2024-01-15T10:00:00.000Z")
    assert (state.failure_signature, state.top_producer, state.top_producer_version) == (
        MISSING, "orders-svc", "v3.17")
    assert state.evidence_sample[0] == f"evd-{1000:026d}"


def test_batch_boundaries_do_not_move_the_provisional_trigger(control_plane: ControlPlane) -> None:
    """Early firing is evaluated after each evidence: batches of 1, 100 or all-at-once fire on the same record."""
    triggers = set()
    for size in (1, 100, 2000):
        host = SignalEngineHost(control_plane)
        early = [s for s in contract(feed(host, scenario1(), size)) if s.provisional]
        assert len(early) == 1
        triggers.add((early[0].timestamp, early[0].metrics["evidence_count"]))
    assert len(triggers) == 1


def test_expected_volume_makes_early_firing_wait_until_recovery_is_impossible(control_plane: ControlPlane) -> None:
    """With history (1,247 per window), the provisional fires only once the remaining records could not lift it."""
    host = SignalEngineHost(control_plane)
    start = ms("2024-01-15T09:30:00.000Z")
    for w in range(5):  # five healthy windows of 1,247 teach the expected volume
        host.add_evidence(spread(start + w * 5 * MINUTE, start + (w + 1) * 5 * MINUTE, 1247, w * 10_000))
    early = [s for s in contract(feed(host, scenario1())) if s.provisional]
    assert len(early) == 1
    n = early[0].metrics["evidence_count"]
    passes = early[0].metrics["pass_count"]
    assert (passes + 1247 - n) / 1247 < 0.80 <= (passes + 1247 - (n - 1)) / 1247
    assert early[0].metrics["expected_evidence_count"] == 1247


def test_no_provisional_below_min_evidence_or_for_healthy_windows(host: SignalEngineHost) -> None:
    """49 failures alone do not fire early; a window at 90% compliance never does (it ends WARNING)."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    out = host.add_evidence(spread(t0, t0 + MINUTE, 49, 0, FAIL))
    assert contract(out) == []
    mixed = [evidence(100 + i, t0 + 5 * MINUTE + i * 200, FAIL if i % 10 == 0 else PASS) for i in range(1000)]
    out = feed(host, mixed) + host.flush()
    states = [(s.window.start if s.window else "", s.state, s.provisional) for s in contract(out)]
    assert states == [("2024-01-15T10:00:00.000Z", CRITICAL, False), ("2024-01-15T10:05:00.000Z", WARNING, False)]


def test_tallies_count_sampled_out_passes_exactly(host: SignalEngineHost) -> None:
    """PASS tallies add to pass_count and evidence_count exactly, in the window of their minute."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    host.add_evidence(spread(t0, t0 + 4 * MINUTE, 10, 0) + spread(t0, t0 + 4 * MINUTE, 5, 100, FAIL),
                      [tally(ORDERS, t0 + m * MINUTE, 90) for m in range(4)] + [tally(ORDERS, t0 + 5 * MINUTE, 7)])
    out = contract(host.flush())
    first = out[0].metrics
    assert (first["pass_count"], first["fail_count"], first["evidence_count"]) == (370, 5, 375)
    assert first["compliance_rate"] == round(370 / 375, 4)
    assert out[0].state == OK
    assert out[1].metrics["evidence_count"] == 7


def test_warn_counts_against_compliance_and_top_failures_are_bounded(host: SignalEngineHost) -> None:
    """WARN is not compliant; top_failures keeps at most 5 (by count) and evidence_refs at most 10."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = [evidence(i, t0 + i * 100, WARN if i % 2 else FAIL, f"INVALID_FORMAT:f{i % 8}") for i in range(64)]
    items += [evidence(100 + i, t0 + 10_000 + i, FAIL, "INVALID_FORMAT:f0") for i in range(5)]
    out = contract(host.add_evidence(items) + host.flush())
    final = out[-1]
    assert (final.metrics["warn_count"], final.metrics["fail_count"], final.metrics["pass_count"]) == (32, 37, 0)
    assert len(final.top_failures) == 5
    assert final.top_failures[0].signature == "INVALID_FORMAT:f0"
    assert final.top_failures[0].count == 13
    assert len(final.evidence_refs) == 10


def test_flapping_compliance_alternates_states_per_window(host: SignalEngineHost) -> None:
    """Compliance alternating around the 0.95 threshold gives OK / WARNING in turn, each window judged alone."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = []
    for w in range(6):
        fails = 3 if w % 2 == 0 else 8  # 97% then 92%, out of 100
        items += [evidence(w * 1000 + i, t0 + w * 5 * MINUTE + i * 2_000, FAIL if i < fails else PASS)
                  for i in range(100)]
    out = contract(feed(host, items) + host.flush())
    assert [(s.state, round(s.metrics["compliance_rate"], 2)) for s in out] == [
        (OK, 0.97), (WARNING, 0.92)] * 3
    state = next(s for s in host.states() if s.state_key == "contract_compliance")
    assert (state.state, state.ok_streak) == (WARNING, 0)


def test_sliding_windows_run_when_configured(control_plane: ControlPlane) -> None:
    """SLIDING_15MIN windows (every 5 minutes) each count the records inside them; the state follows the first type."""
    host = SignalEngineHost(control_plane, EngineConfig(contract_windows=(TUMBLING_5MIN, SLIDING_15MIN)))
    t0 = ms("2024-01-15T10:00:00.000Z")
    out = contract(host.add_evidence(spread(t0, t0 + 15 * MINUTE, 30, 0)) + host.flush())
    sliding = [s for s in out if s.window and s.window.type == SLIDING_15MIN]
    assert [(s.window.start[11:16] if s.window else "", s.metrics["evidence_count"]) for s in sliding] == [
        ("09:50", 10), ("09:55", 20), ("10:00", 30), ("10:05", 20), ("10:10", 10)]
    assert len([s for s in out if s.window and s.window.type == TUMBLING_5MIN]) == 3
