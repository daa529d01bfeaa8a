"""VOLUME_ANOMALY (learned baseline, no alarm before enough history) and FRESHNESS_BREACH (stalls, gaps, runs)."""

from __future__ import annotations

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import VolumeSlo
from signal_factory.signals import volume
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import (
    CRITICAL,
    FRESHNESS_BREACH,
    OK,
    UNKNOWN,
    VOLUME_ANOMALY,
    WARNING,
    BatchRunTotals,
    Signal,
)
from tests.signals.builders import DAY, HOUR, MINUTE, ORDERS, SILVER, evidence, ms, tally

T0 = ms("2024-01-15T00:00:00.000Z")


def of(kind: str, signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if s.signal_type == kind]


def hourly(host: SignalEngineHost, per_minute: list[int]) -> list[Signal]:
    """Hour h gets per_minute[h] records in each of its 60 minutes (as PASS tallies), closed by a tick."""
    out: list[Signal] = []
    for h, n in enumerate(per_minute):
        out += host.add_evidence([], [tally(ORDERS, T0 + h * HOUR + m * MINUTE, n) for m in range(60) if n])
        out += host.advance_to(T0 + (h + 1) * HOUR)
    return out


def test_volume_drop_alarms_once_the_baseline_has_enough_history(host: SignalEngineHost) -> None:
    """12 hours of ~1,000/h teach the baseline; then 120 in an hour is CRITICAL with the expected range stated."""
    out = of(VOLUME_ANOMALY, hourly(host, [17 + h % 2 for h in range(13)] + [2]))
    assert [s.state for s in out] == [UNKNOWN] * 12 + [OK, CRITICAL]
    drop = out[-1]
    assert drop.metrics["observed_count"] == 120
    assert drop.metrics["history_windows"] == 13
    assert drop.metrics["expected_low"] <= 1020
    assert drop.metrics["expected_high"] >= 1080
    assert not drop.metrics["expected_low"] <= 120 <= drop.metrics["expected_high"]
    assert drop.details == {"baseline": volume.ALL_WINDOWS,
                            "expected_range": [drop.metrics["expected_low"], drop.metrics["expected_high"]]}


def test_volume_drop_before_enough_history_is_unknown_not_an_alarm(host: SignalEngineHost) -> None:
    """The same drop after only 5 hours of history reports UNKNOWN (still learning)."""
    out = of(VOLUME_ANOMALY, hourly(host, [17] * 5 + [2]))
    assert [s.state for s in out] == [UNKNOWN] * 6
    assert out[-1].details == {"baseline": "LEARNING"}


def test_silence_is_reported_as_empty_windows(host: SignalEngineHost) -> None:
    """Hours with no records at all still close (count 0) once time moves on, and alarm after history."""
    out = of(VOLUME_ANOMALY, hourly(host, [17] * 13 + [0, 0]))
    assert [(s.state, s.metrics["observed_count"]) for s in out[-3:]] == [(OK, 1020), (CRITICAL, 0), (CRITICAL, 0)]


def test_small_change_on_a_flat_history_does_not_alarm(host: SignalEngineHost) -> None:
    """MAD 0 (identical history) has a floor: 1,020 -> 1,030 is OK, not an anomaly."""
    out = of(VOLUME_ANOMALY, hourly(host, [17] * 13))
    host.add_evidence([], [tally(ORDERS, T0 + 13 * HOUR, 1030)])
    out += of(VOLUME_ANOMALY, host.advance_to(T0 + 14 * HOUR))
    assert out[-1].metrics["baseline_mad"] == 0
    assert (out[-1].state, out[-1].metrics["observed_count"]) == (OK, 1030)


def test_baseline_prefers_the_same_hour_of_week_then_of_day() -> None:
    """With enough same-hour-of-week samples they win; else same hour of day; else all earlier windows."""
    start = T0 + 10 * 7 * DAY
    weekly = {start - k * 7 * DAY: 500 for k in range(1, 4)}
    daily = {start - k * DAY: 100 for k in range(1, 7)}
    others = {start - k * HOUR: 10 for k in range(1, 5)}
    slo = VolumeSlo(min_history_windows=3)
    assert volume.baseline_samples({**weekly, **daily, **others}, start, 3) == (volume.HOUR_OF_WEEK, [500] * 3)
    level, samples = volume.baseline_samples({**daily, **others}, start, 3)
    assert (level, sorted(samples)) == (volume.HOUR_OF_DAY, [100] * 6)
    assert volume.baseline_samples(others, start, 3)[0] == volume.ALL_WINDOWS
    assert volume.result(10, others, start, slo)[0] == OK


def test_freshness_stall_warns_then_goes_critical_then_recovers(host: SignalEngineHost) -> None:
    """No records for > 5 min: WARNING (at last + 5 min), > 10 min: CRITICAL (at last + 10 min); records: OK."""
    last = ms("2024-01-15T10:00:00.000Z")
    first = of(FRESHNESS_BREACH, host.add_evidence([evidence(1, last)]))
    assert [s.state for s in first] == [OK]
    assert of(FRESHNESS_BREACH, host.advance_to(last + 4 * MINUTE)) == []
    warn = of(FRESHNESS_BREACH, host.advance_to(last + 6 * MINUTE))
    assert [(s.state, s.timestamp) for s in warn] == [(WARNING, "2024-01-15T10:05:00.000Z")]
    assert warn[0].metrics == {"last_event_at": "2024-01-15T10:00:00.000Z", "expected_interval_s": 300.0,
                               "lag_s": 300.0}  # the lag at the signal's instant, not at the tick
    crit = of(FRESHNESS_BREACH, host.advance_to(last + 11 * MINUTE))
    assert [(s.state, s.timestamp) for s in crit] == [(CRITICAL, "2024-01-15T10:10:00.000Z")]
    assert of(FRESHNESS_BREACH, host.advance_to(last + 20 * MINUTE)) == []
    back = of(FRESHNESS_BREACH, host.add_evidence([evidence(2, last + 21 * MINUTE)]))
    assert [(s.state, s.timestamp) for s in back] == [(OK, "2024-01-15T10:21:00.000Z")]
    state = next(s for s in host.states() if s.state_key == "freshness")
    assert (state.state, state.breach_start) == (OK, None)


def test_a_gap_inside_the_stream_is_a_breach_and_a_recovery(host: SignalEngineHost) -> None:
    """Records at 10:00 and next at 10:08 (replayed, no ticks): WARNING at 10:05 and OK at 10:08."""
    last = ms("2024-01-15T10:00:00.000Z")
    host.add_evidence([evidence(1, last)])
    out = of(FRESHNESS_BREACH, host.add_evidence([evidence(2, last + 8 * MINUTE)]))
    assert [(s.state, s.timestamp) for s in out] == [(WARNING, "2024-01-15T10:05:00.000Z"),
                                                      (OK, "2024-01-15T10:08:00.000Z")]


def test_a_successful_batch_run_is_fresh(control_plane: ControlPlane) -> None:
    """Silver (expected daily) is fresh after a run, WARNING a day later without one, OK again after the next."""
    host = SignalEngineHost(control_plane)

    def run(day: int) -> BatchRunTotals:
        return BatchRunTotals(dataset_urn=SILVER, run_id=f"r{day}", job_name="orders_silver_transform",
                              started_at=f"2024-01-{15 + day}T02:00:05Z", ended_at=f"2024-01-{15 + day}T02:08:45Z")

    assert [s.state for s in of(FRESHNESS_BREACH, host.add_batch_run(run(0)))] == [OK]
    late = of(FRESHNESS_BREACH, host.advance_to(ms("2024-01-16T03:00:00.000Z")))
    assert [(s.state, s.timestamp) for s in late] == [(WARNING, "2024-01-16T02:08:45.000Z")]
    assert [s.state for s in of(FRESHNESS_BREACH, host.add_batch_run(run(1)))] == [OK]


def test_datasets_without_a_freshness_slo_get_no_freshness_signal(host: SignalEngineHost) -> None:
    """inventory:updated has no freshness SLO: records and ticks never produce FRESHNESS_BREACH for it."""
    t = ms("2024-01-15T10:00:00.000Z")
    out = host.add_evidence([evidence(1, t, urn="urn:dp:inventory:updated")]) + host.advance_to(t + DAY)
    assert of(FRESHNESS_BREACH, out) == []
