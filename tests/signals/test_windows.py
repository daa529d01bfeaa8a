"""Windows, watermarks and late data: every record is in a signal or counted as dropped."""

from __future__ import annotations

import random

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.signals.config import EngineConfig, EngineConfigError
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, SLIDING_15MIN, TUMBLING_1HR, TUMBLING_5MIN, Signal
from signal_factory.signals.windows import SPECS, starts_containing
from tests.signals.builders import MINUTE, ORDERS, evidence, ms

T0 = ms("2024-01-15T10:00:00.000Z")


def contract(signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if s.signal_type == CONTRACT_BREACH]


@pytest.mark.parametrize(("window_type", "instant", "starts"), [
    (TUMBLING_5MIN, "10:04:59.999", ["10:00"]),
    (TUMBLING_5MIN, "10:05:00.000", ["10:05"]),
    (TUMBLING_1HR, "10:59:00.000", ["10:00"]),
    (SLIDING_15MIN, "10:07:00.000", ["09:55", "10:00", "10:05"]),
])
def test_an_instant_falls_in_the_windows_that_contain_it(window_type: str, instant: str, starts: list[str]) -> None:
    """Windows align to the epoch; a sliding 15-minute window every 5 minutes puts each instant in three."""
    spec = SPECS[window_type]
    got = [s for s in starts_containing(spec, ms(f"2024-01-15T{instant}Z"))]
    assert got == [ms(f"2024-01-15T{s}:00.000Z") for s in starts]


def test_window_closes_when_the_watermark_passes_its_end(host: SignalEngineHost) -> None:
    """Watermark = max event time - 30 s: a record at 10:05:29 does not close 10:00-10:05, one at 10:05:30 does."""
    host.add_evidence([evidence(1, T0 + MINUTE)])
    assert contract(host.add_evidence([evidence(2, T0 + 5 * MINUTE + 29_000)])) == []
    closed = contract(host.add_evidence([evidence(3, T0 + 5 * MINUTE + 30_000)]))
    assert [(s.window.start if s.window else "", s.revision) for s in closed] == [("2024-01-15T10:00:00.000Z", 1)]


def test_late_within_lateness_gives_a_corrected_revision(host: SignalEngineHost) -> None:
    """Evidence for a closed window within allowed lateness is added and re-emitted as revision 2, with late_count."""
    host.add_evidence([evidence(i, T0 + i * MINUTE) for i in range(4)])
    first = contract(host.add_evidence([evidence(10, T0 + 6 * MINUTE)]))
    assert [(s.revision, s.metrics["evidence_count"]) for s in first] == [(1, 4)]
    corrected = contract(host.add_evidence([evidence(11, T0 + 3 * MINUTE, "FAIL")]))
    assert [(s.revision, s.metrics["evidence_count"], s.metrics["late_count"]) for s in corrected] == [(2, 5, 1)]
    assert corrected[0].window == first[0].window
    assert corrected[0].signal_id != first[0].signal_id
    assert corrected[0].metrics["fail_count"] == 1


def test_beyond_lateness_is_counted_and_flagged_on_the_next_signal(host: SignalEngineHost) -> None:
    """Past end + 5 min the record is not added but counted: late_dropped_count on the dataset's next signal."""
    host.add_evidence([evidence(i, T0 + i * MINUTE) for i in range(4)])
    host.add_evidence([evidence(20, T0 + 11 * MINUTE)])  # watermark 10:10:30: 10:00-10:05 is past lateness
    assert contract(host.add_evidence([evidence(21, T0 + 2 * MINUTE), evidence(22, T0 + 3 * MINUTE)])) == []
    nxt = contract(host.add_evidence([evidence(23, T0 + 16 * MINUTE)]))
    assert len(nxt) == 1
    assert nxt[0].metrics["late_dropped_count"] == 2
    assert nxt[0].details == {"flags": ["LATE_DATA_DROPPED"]}
    later = contract(host.flush())
    assert all("late_dropped_count" not in s.metrics for s in later)


def test_no_record_is_silently_dropped(control_plane: ControlPlane) -> None:
    """Across a jittered stream, evidence counted in final windows + late-dropped = records fed."""
    host = SignalEngineHost(control_plane)
    # In order every 6 s; one in five shifted back by up to 15 minutes: late but accepted, or too late.
    rnd = random.Random(5)
    items = [evidence(i, T0 + 15 * MINUTE + i * 6_000 - (rnd.randrange(15 * MINUTE) if i % 5 == 0 else 0))
             for i in range(400)]
    out: list[Signal] = []
    for i in range(0, len(items), 25):
        out += host.add_evidence(items[i:i + 25])
    out += host.flush()
    finals: dict[str, Signal] = {}
    for s in contract(out):
        assert s.window is not None
        finals[s.window.start] = s  # the latest revision of each window
    counted = sum(s.metrics["evidence_count"] for s in finals.values())
    dropped = sum(s.metrics.get("late_dropped_count", 0) for s in contract(out))
    late = sum(s.metrics.get("late_count", 0) for s in finals.values())
    assert counted + dropped == len(items)
    assert dropped > 0
    assert late > 0


def test_advance_to_closes_windows_of_an_idle_dataset(host: SignalEngineHost) -> None:
    """With no new records, a wall-clock tick past window end + out-of-orderness closes the window."""
    host.add_evidence([evidence(1, T0 + MINUTE)])
    assert contract(host.advance_to(T0 + 4 * MINUTE)) == []
    out = contract(host.advance_to(T0 + 5 * MINUTE))
    assert [s.revision for s in out] == [1]


def test_watermarks_are_per_dataset(host: SignalEngineHost) -> None:
    """A dataset far ahead in event time does not make another dataset's records late."""
    other = "urn:dp:orders:bronze"
    host.add_evidence([evidence(1, T0 + 5 * 60 * MINUTE, urn=other)])
    host.add_evidence([evidence(2, T0 + MINUTE)])
    out = contract(host.advance_to(T0 + 6 * MINUTE))
    mine = [s for s in out if s.dataset_urn == ORDERS]
    assert [(s.metrics["evidence_count"], s.metrics.get("late_dropped_count")) for s in mine] == [(1, None)]


def test_bad_window_names_are_refused_with_the_choices() -> None:
    """A misspelt window type fails at configuration time and lists the valid ones."""
    with pytest.raises(EngineConfigError, match="TUMBLING_5MIN, TUMBLING_1HR, SLIDING_15MIN"):
        EngineConfig(contract_windows=("TUMBLING_10MIN",))
