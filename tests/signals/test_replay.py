"""Replays are byte-identical, and a host restored from a snapshot carries on exactly."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, WARN
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost, SnapshotError
from signal_factory.signals.model import SIGNAL_TYPES, SLIDING_15MIN, TUMBLING_5MIN, BatchRunTotals, encode_signal
from tests.signals.builders import (
    DISCOUNTS,
    FLASH,
    MINUTE,
    ORDERS,
    SILVER,
    batch_evidence,
    evidence,
    ms,
    scenario1,
    skewed,
    spread,
    tally,
)

Step = Callable[[SignalEngineHost], list[object]]


def script() -> list[Step]:
    """A mixed input: Scenario 1, drift, late records, tallies, clock-skewed records, batch-run evidence (one run
    that reports, one that does not), a batch run, ticks and a final flush."""
    t0 = ms("2024-01-15T09:55:00.000Z")
    steps: list[Step] = []
    s1 = scenario1()
    for i in range(0, len(s1), 150):
        chunk = s1[i:i + 150]
        steps.append(lambda h, c=chunk: list(h.add_evidence(c)))  # type: ignore[misc]
    later = spread(t0 + 6 * MINUTE, t0 + 40 * MINUTE, 400, 5000)
    later += [evidence(6000 + i, t0 + 20 * MINUTE + i * 1000, WARN, FLASH, expected=DISCOUNTS) for i in range(20)]
    later += [evidence(7000 + i, t0 + 3 * MINUTE + i, FAIL) for i in range(5)]  # late: corrections or drops
    later.insert(35, skewed(7100, ms("2030-01-01T00:00:00Z")))  # clock skew: re-timed, counted, no watermark move
    later.insert(150, skewed(7101, ms("1999-01-01T00:00:00Z"), "CLOCK_SKEW:past"))
    later += [batch_evidence(7200 + i, t0 + 35 * MINUTE, run_id="spark-1") for i in range(12)]  # the run's FAILs
    later += [batch_evidence(7300 + i, t0 + 36 * MINUTE, run_id="spark-never-reports") for i in range(3)]
    for i in range(0, len(later), 70):
        chunk = later[i:i + 70]
        tallies = [tally(ORDERS, t0 + (10 + i // 70) * MINUTE, 40)]
        steps.append(lambda h, c=chunk, t=tallies: list(h.add_evidence(c, t)))  # type: ignore[misc]
    run = BatchRunTotals(dataset_urn=SILVER, run_id="spark-1", job_name="orders_silver_transform",
                         started_at="2024-01-15T10:30:05Z", ended_at="2024-01-15T10:38:45Z", records_processed=45230,
                         records_passed=44850, records_failed=380, failure_signatures={FLASH: 380}, cost_units=12.5)
    steps.append(lambda h: list(h.add_batch_run(run)))
    steps.append(lambda h: list(h.advance_to(t0 + 90 * MINUTE)))
    steps.append(lambda h: list(h.flush()))
    return steps


def encoded(out: list[object]) -> list[bytes]:
    return [encode_signal(s) for s in out]  # type: ignore[arg-type]


def run_all(cp: ControlPlane, config: EngineConfig | None = None) -> tuple[list[bytes], list[bytes]]:
    host = SignalEngineHost(cp, config)
    out: list[object] = []
    for step in script():
        out += step(host)
    return encoded(out), [msgspec.json.encode(s) for s in host.states()]


def test_same_input_twice_gives_identical_bytes(control_plane: ControlPlane) -> None:
    """Two fresh hosts fed the same input emit byte-identical signals (ids and timestamps included) and states."""
    first = run_all(control_plane)
    assert first == run_all(control_plane)
    kinds = {msgspec.json.decode(s)["signal_type"] for s in first[0]}
    assert kinds == set(SIGNAL_TYPES)


@pytest.mark.parametrize("config", [None, EngineConfig(contract_windows=(TUMBLING_5MIN, SLIDING_15MIN))])
def test_restore_mid_stream_gives_the_uninterrupted_signals(control_plane: ControlPlane,
                                                             config: EngineConfig | None) -> None:
    """Snapshot after any step, restore into a new host, continue: same signals and states as never stopping."""
    expected = run_all(control_plane, config)
    steps = script()
    for cut in range(1, len(steps)):
        host = SignalEngineHost(control_plane, config)
        out: list[object] = []
        for step in steps[:cut]:
            out += step(host)
        host = SignalEngineHost.restore(control_plane, host.snapshot())
        for step in steps[cut:]:
            out += step(host)
        assert (encoded(out), [msgspec.json.encode(s) for s in host.states()]) == expected, f"cut after step {cut}"


def test_restored_host_keeps_its_settings(control_plane: ControlPlane) -> None:
    """A snapshot carries the engine settings; restore without a config keeps them."""
    config = EngineConfig(contract_windows=(SLIDING_15MIN,), allowed_lateness_ms=60_000)
    host = SignalEngineHost.restore(control_plane, SignalEngineHost(control_plane, config).snapshot())
    assert host.cfg == config


def test_restore_with_changed_windows_keeps_the_ones_still_configured(control_plane: ControlPlane) -> None:
    """Restoring with an added window type keeps open TUMBLING_5MIN windows and starts the new type empty."""
    host = SignalEngineHost(control_plane)
    host.add_evidence(scenario1()[:100])
    config = EngineConfig(contract_windows=(TUMBLING_5MIN, SLIDING_15MIN))
    restored = SignalEngineHost.restore(control_plane, host.snapshot(), config=config)
    out = [s for s in restored.flush() if s.window and s.window.start == "2024-01-15T09:55:00.000Z"]
    assert [(s.window.type if s.window else "", s.metrics["evidence_count"]) for s in out] == [
        (TUMBLING_5MIN, 100)]


def test_a_foreign_blob_is_refused_with_a_fix(control_plane: ControlPlane) -> None:
    """Restoring from bytes that are not a snapshot raises SnapshotError saying where snapshots come from."""
    with pytest.raises(SnapshotError, match=r"SignalEngineHost\.snapshot\(\)"):
        SignalEngineHost.restore(control_plane, b"\x93not a snapshot")
