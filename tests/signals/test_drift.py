"""DRIFT_DETECTED: new failure signatures within a 30-day lookback, with ENUM_VALUE_DRIFT details."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, WARN, Lineage
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import DQ_BREACH, DRIFT_DETECTED, POINT, WARNING, BatchRunTotals, Signal
from tests.signals.builders import BRONZE, DAY, DISCOUNTS, FLASH, MISSING, ORDERS, SILVER, evidence, ms

T = ms("2024-01-15T02:05:00.000Z")


class History:
    """In-memory `SignatureHistory`: (dataset, signature) -> sighting times."""

    def __init__(self, seen: dict[tuple[str, str], list[int]]) -> None:
        self.seen = seen

    def last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        times = [t for t in self.seen.get((dataset_urn, signature), []) if t < before_ms]
        return max(times) if times else None


def drift(signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if s.signal_type == DRIFT_DETECTED]


def silver_run(run_id: str = "spark-orders-silver-20240115-020005", day: int = 15) -> BatchRunTotals:
    return BatchRunTotals(
        dataset_urn=SILVER, run_id=run_id, job_name="orders_silver_transform",
        started_at=f"2024-01-{day}T02:00:05.000Z", ended_at=f"2024-01-{day}T02:08:45.000Z",
        records_processed=45230, records_passed=44850, records_failed=380, failure_signatures={FLASH: 380},
        upstream_dataset=BRONZE, batch_context={"dag_id": "orders_daily_agg"})


def test_first_flash_sale_is_enum_value_drift(host: SignalEngineHost) -> None:
    """The first UNKNOWN_ENUM:discount_type:FLASH_SALE gives a WARNING POINT signal at its first sighting."""
    items = [evidence(i, T + i * 1000, WARN, FLASH, expected=DISCOUNTS) for i in range(3, 0, -1)]
    out = drift(host.add_evidence(items))
    assert len(out) == 1
    sig = out[0]
    assert (sig.state, sig.timestamp, sig.dataset_urn) == (WARNING, "2024-01-15T02:05:01.000Z", ORDERS)
    assert sig.window is not None
    assert (sig.window.type, sig.window.start) == (POINT, sig.timestamp)
    assert sig.details == {
        "drift_type": "ENUM_VALUE_DRIFT", "signature": FLASH, "field": "discount_type", "new_value": "FLASH_SALE",
        "expected_values": DISCOUNTS, "first_seen_in_source": "2024-01-15T02:05:01.000Z", "upstream_dataset": None}
    assert sig.evidence_refs == [f"evd-{1:026d}"]
    assert drift(host.add_evidence([evidence(9, T + 60_000, WARN, FLASH)])) == []


@pytest.mark.parametrize(("days_ago", "drifts"), [(10, False), (29, False), (40, True)])
def test_signature_history_decides_what_is_new(control_plane: ControlPlane, days_ago: int, drifts: bool) -> None:
    """Seen by the store 10 or 29 days ago: not drift; last seen 40 days ago: drift again."""
    history = History({(ORDERS, MISSING): [T - days_ago * DAY]})
    host = SignalEngineHost(control_plane, history=history)
    out = drift(host.add_evidence([evidence(1, T, FAIL, MISSING)]))
    assert bool(out) is drifts
    if drifts:
        assert out[0].details is not None
        assert out[0].details["drift_type"] == "SCHEMA_DRIFT"


def test_engine_memory_expires_after_the_lookback(host: SignalEngineHost) -> None:
    """Without a store, the engine remembers: same signature next day is not new, 31 days after the last is."""
    assert len(drift(host.add_evidence([evidence(1, T, FAIL, "INVALID_FORMAT:email")]))) == 1
    assert drift(host.add_evidence([evidence(2, T + DAY, FAIL, "INVALID_FORMAT:email")])) == []
    again = drift(host.add_evidence([evidence(3, T + 32 * DAY, FAIL, "INVALID_FORMAT:email")]))
    assert [s.details["drift_type"] for s in again if s.details] == ["NEW_FAILURE_SIGNATURE"]


def test_scenario2_batch_drift_points_back_to_the_source(host: SignalEngineHost) -> None:
    """Stream saw FLASH_SALE at 14:30 the day before; the silver run's drift names that time, bronze and the enum."""
    host.add_evidence([evidence(1, ms("2024-01-14T14:30:00.000Z"), WARN, FLASH, expected=DISCOUNTS)])
    out = host.add_batch_run(silver_run())
    found = drift(out)
    assert len(found) == 1
    assert found[0].dataset_urn == SILVER
    assert found[0].timestamp == "2024-01-15T02:08:45.000Z"
    assert found[0].details == {
        "drift_type": "ENUM_VALUE_DRIFT", "signature": FLASH, "field": "discount_type", "new_value": "FLASH_SALE",
        "expected_values": DISCOUNTS, "first_seen_in_source": "2024-01-14T14:30:00.000Z",
        "upstream_dataset": BRONZE}
    dq = next(s for s in out if s.signal_type == DQ_BREACH)
    assert [(t.signature, t.count, t.is_new) for t in dq.top_failures] == [(FLASH, 380, True)]
    again = host.add_batch_run(silver_run("spark-orders-silver-20240116-020005", 16))
    assert drift(again) == []
    dq2 = next(s for s in again if s.signal_type == DQ_BREACH)
    assert dq2.top_failures[0].is_new is False


def test_evidence_lineage_names_the_upstream_dataset(host: SignalEngineHost) -> None:
    """Batch evidence carrying lineage reports its upstream dataset in the drift details."""
    ev = evidence(1, T, FAIL, FLASH, urn=SILVER, lineage=Lineage(upstream_dataset=BRONZE))
    out = drift(host.add_evidence([ev]))
    assert out[0].details is not None
    assert out[0].details["upstream_dataset"] == BRONZE
    assert out[0].details["expected_values"] == DISCOUNTS  # from the silver contract, the evidence had none


def test_new_signatures_per_window_are_capped_with_one_overflow(host: SignalEngineHost) -> None:
    """500 distinct codes in one five-minute window: 20 drift signals and one SIGNATURE_OVERFLOW; the next
    window starts a new count; memory stays under its cap."""
    start = ms("2024-01-15T10:00:00.000Z")
    flood = [evidence(i, start + i * 500, WARN, f"UNKNOWN_ENUM:discount_type:X{i}") for i in range(500)]
    out = []
    for i in range(0, 500, 100):  # batch boundaries do not change the count
        out += drift(host.add_evidence(flood[i:i + 100]))
    assert len(out) == 21
    overflow = out[-1]
    assert overflow.details is not None
    assert (overflow.details["drift_type"], overflow.details["signature"], overflow.details["cap"]) == (
        "SIGNATURE_OVERFLOW", "OTHER_NEW_SIGNATURES", 20)
    assert overflow.details["window_start"] == "2024-01-15T10:00:00.000Z"
    later = [evidence(1000 + i, start + 300_000 + i, WARN, f"UNKNOWN_ENUM:discount_type:Y{i}") for i in range(30)]
    assert len(drift(host.add_evidence(later))) == 21


def test_drift_memory_is_capped(control_plane: ControlPlane) -> None:
    """Past `drift_memory_max_signatures` the signatures seen longest ago are forgotten first."""
    from signal_factory.signals.config import EngineConfig

    host = SignalEngineHost(control_plane, EngineConfig(drift_memory_max_signatures=50))
    host.add_evidence([evidence(i, T + i * 1000, FAIL, f"MISSING_FIELD:f{i}") for i in range(120)])
    state = host._s.drift.seen[ORDERS]
    assert len(state) == 50
    assert "MISSING_FIELD:f119" in state
    assert "MISSING_FIELD:f0" not in state
