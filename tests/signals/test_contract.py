"""CONTRACT_BREACH: Scenario 1's numbers, early firing and its updates, statistical support, tallies, bounds."""

from __future__ import annotations

from itertools import pairwise

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, PASS, WARN
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import (
    CONTRACT_BREACH,
    CRITICAL,
    OK,
    SLIDING_15MIN,
    TUMBLING_5MIN,
    WARNING,
    Signal,
    encode_signal,
    signal_id_for,
)
from tests.signals.builders import (
    BRONZE,
    DISCOUNTS,
    FLASH,
    MINUTE,
    MISSING,
    ORDERS,
    evidence,
    feed,
    ms,
    scenario1,
    spread,
    tally,
)

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


def test_scenario1_fires_a_provisional_critical_within_a_second(host: SignalEngineHost) -> None:
    """The breach is provisional CRITICAL at its 5th failing record (0.4 s of event time), long before close."""
    out = contract(feed(host, scenario1()))
    assert out
    assert all((s.provisional, s.revision, s.state) == (True, 0, CRITICAL) for s in out)
    early = out[0]
    triggered = ms(early.timestamp)
    assert 0 < triggered - FIRST_FAIL <= 1_000
    assert WINDOW_END - triggered > 100_000
    m = early.metrics
    assert (m["evidence_count"], m["fail_count"], m["recent_fail_count"], m["recent_failure_rate"]) == (132, 5, 5, 1.0)
    assert early.details is not None
    assert early.details["early_decision"]["since"] == "2024-01-15T09:58:02.312Z"
    final = contract(host.advance_to(WINDOW_END + 30_000))
    assert [(s.provisional, s.revision) for s in final] == [(False, 1)]
    assert final[0].signal_id not in {s.signal_id for s in out}


def test_provisional_updates_carry_current_figures_and_are_bounded(host: SignalEngineHost) -> None:
    """As Scenario 1 worsens the window re-fires with its current rate, each time at least doubled (+10 pp), <= 6."""
    out = contract(feed(host, scenario1()))
    rates = [s.metrics["failure_rate"] for s in out]
    assert 2 <= len(out) <= 6
    assert all(b >= a + max(0.1, a) - 1e-3 for a, b in pairwise(rates))
    assert rates[-1] > 0.5
    assert [s.details["early_decision"]["sequence"] for s in out if s.details] == list(range(len(out)))
    assert len({s.signal_id for s in out}) == len(out)
    assert out[0].signal_id == signal_id_for(CONTRACT_BREACH, ORDERS, TUMBLING_5MIN, "2024-01-15T09:55:00.000Z",
                                             WINDOW_END, 0)


def test_batch_boundaries_do_not_move_the_provisional_signals(control_plane: ControlPlane) -> None:
    """The early test runs record by record: batches of 1, 100 or all-at-once fire the same signals."""
    runs = set()
    for size in (1, 100, 2000):
        host = SignalEngineHost(control_plane)
        runs.add(tuple(encode_signal(s) for s in contract(feed(host, scenario1(), size))))
    assert len(runs) == 1


def test_other_datasets_in_the_batch_do_not_change_the_early_signals(control_plane: ControlPlane) -> None:
    """Scenario 1 interleaved record by record with a clean BRONZE stream fires the same ORDERS signals."""
    alone = contract(feed(SignalEngineHost(control_plane), scenario1()))
    s1 = scenario1()
    mixed_items = []
    for i, ev in enumerate(s1):
        mixed_items += [ev, evidence(50_000 + i, ms(ev.event_time()), urn=BRONZE)]
    mixed = [s for s in contract(feed(SignalEngineHost(control_plane), mixed_items, 90)) if s.dataset_urn == ORDERS]
    assert [encode_signal(s) for s in mixed] == [encode_signal(s) for s in alone]


def test_a_bad_deploy_mid_window_pages_within_ten_seconds_at_two_records_per_second(host: SignalEngineHost) -> None:
    """4 clean minutes at 2 records/s, then every other record fails: provisional CRITICAL within 10 s."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    clean = spread(t0, t0 + 4 * MINUTE, 480, 0)
    deploy = t0 + 4 * MINUTE
    bad = [evidence(1000 + i, deploy + i * 500, FAIL if i % 2 == 0 else PASS) for i in range(100)]
    out = contract(feed(host, clean + bad, 7))
    assert out
    assert (out[0].provisional, out[0].state) == (True, CRITICAL)
    assert ms(out[0].timestamp) - deploy <= 10_000
    assert out[0].metrics["failure_rate"] < 0.05  # the window as a whole still looks healthy: the test sees the change


def test_a_handful_of_failures_never_fires(host: SignalEngineHost) -> None:
    """4 failing records in a row do not fire early nor make the window CRITICAL; 5 do (min_failing)."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    out = contract(host.add_evidence(spread(t0, t0 + 2_000, 4, 0, FAIL)) + host.advance_to(t0 + 6 * MINUTE))
    assert [(s.provisional, s.state) for s in out] == [(False, OK)]
    t1 = t0 + 10 * MINUTE
    out = contract(host.add_evidence(spread(t1, t1 + 2_000, 5, 100, FAIL)) + host.advance_to(t1 + 6 * MINUTE))
    assert [(s.provisional, s.state) for s in out] == [(True, CRITICAL), (False, CRITICAL)]


def test_final_state_needs_statistical_support(host: SignalEngineHost) -> None:
    """1 failing of 3 is OK, a lone WARN is OK (not "0 of 1 failed"); 90% compliance over 1,000 is WARNING."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = [evidence(0, t0, FAIL), evidence(1, t0 + 1000), evidence(2, t0 + 2000)]
    items += [evidence(3, t0 + 5 * MINUTE, WARN, FLASH, expected=DISCOUNTS)]
    items += [evidence(100 + i, t0 + 10 * MINUTE + i * 200, FAIL if i % 10 == 0 else PASS) for i in range(1000)]
    out = contract(feed(host, items) + host.flush())
    assert [(s.state, s.provisional, s.metrics["evidence_count"]) for s in out] == [
        (OK, False, 3), (OK, False, 1), (WARNING, False, 1000)]
    assert (out[1].metrics["warn_count"], out[1].metrics["compliance_rate"]) == (1, 1.0)


def test_warning_level_breach_fires_warning_then_escalates(host: SignalEngineHost) -> None:
    """A stream failing 1 record in 4 is provisional WARNING once over budget, CRITICAL once provably over 20%."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = [evidence(i, t0 + i * 250, FAIL if i % 4 == 0 else PASS) for i in range(1000)]
    out = [s for s in contract(feed(host, items)) if s.provisional]
    states = [s.state for s in out]
    assert states[0] == WARNING
    assert CRITICAL in states
    assert ms(out[states.index(CRITICAL)].timestamp) > ms(out[0].timestamp)


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


def test_warn_is_compliant_and_top_failures_are_bounded(host: SignalEngineHost) -> None:
    """WARN counts as compliant but is reported; top_failures keeps at most 5 (by count), evidence_refs 10."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = [evidence(i, t0 + i * 100, WARN if i % 2 else FAIL, f"INVALID_FORMAT:f{i % 8}") for i in range(64)]
    items += [evidence(100 + i, t0 + 10_000 + i, FAIL, "INVALID_FORMAT:f0") for i in range(5)]
    out = contract(host.add_evidence(items) + host.flush())
    final = out[-1]
    assert (final.metrics["warn_count"], final.metrics["fail_count"], final.metrics["pass_count"]) == (32, 37, 0)
    assert final.metrics["compliance_rate"] == round(32 / 69, 4)
    assert len(final.top_failures) == 5
    assert final.top_failures[0].signature == "INVALID_FORMAT:f0"
    assert final.top_failures[0].count == 13
    assert len(final.evidence_refs) == 10


def test_flapping_compliance_alternates_states_per_window(host: SignalEngineHost) -> None:
    """Compliance alternating around the 0.95 threshold gives OK / WARNING in turn, each window judged alone."""
    t0 = ms("2024-01-15T10:00:00.000Z")
    items = []
    for w in range(6):
        fails = 30 if w % 2 == 0 else 80  # 97% then 92%, out of 1,000, spread evenly
        items += [evidence(w * 10_000 + i, t0 + w * 5 * MINUTE + i * 300, FAIL if i * fails % 1000 < fails else PASS)
                  for i in range(1000)]
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
