"""DQ_BREACH from batch-run totals (Scenario 2 Step 6) and COST_ANOMALY against previous runs of the job."""

from __future__ import annotations

import pytest

from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import (
    BATCH_RUN,
    COST_ANOMALY,
    CRITICAL,
    DQ_BREACH,
    OK,
    UNKNOWN,
    WARNING,
    BatchRunTotals,
    Signal,
)
from tests.signals.builders import BRONZE, FLASH, SILVER

CONTEXT = {"dag_id": "orders_daily_agg", "dag_run_id": "scheduled__2024-01-15T02:00:00+00:00",
           "spark_run_id": "spark-orders-silver-20240115-020005"}


def run(n: int = 0, *, processed: int | None = 45230, passed: int | None = 44850, failed: int | None = 380,
        cost: float | None = None, urn: str = SILVER, job: str = "orders_silver_transform") -> BatchRunTotals:
    return BatchRunTotals(
        dataset_urn=urn, run_id=f"run-{n}", job_name=job, started_at=f"2024-01-{10 + n:02d}T02:00:05Z",
        ended_at=f"2024-01-{10 + n:02d}T02:08:45Z", records_processed=processed, records_passed=passed,
        records_failed=failed, failure_signatures={FLASH: failed} if failed else {}, cost_units=cost,
        batch_context=CONTEXT)


def one(kind: str, signals: list[Signal]) -> Signal:
    found = [s for s in signals if s.signal_type == kind]
    assert len(found) == 1
    return found[0]


def test_scenario2_dq_is_ok_at_0_9916(host: SignalEngineHost) -> None:
    """45,230 processed, 44,850 passed: compliance 0.9916 >= 0.99 -> OK (SPEC resolves the seed's WARNING)."""
    sig = one(DQ_BREACH, host.add_batch_run(run(5)))
    assert sig.state == OK
    assert sig.metrics == {"records_processed": 45230, "records_passed": 44850, "records_failed": 380,
                           "compliance_rate": 0.9916, "slo_threshold": 0.99, "warning_threshold": 0.95}
    assert sig.window is not None
    assert (sig.window.start, sig.window.end, sig.window.type) == (
        "2024-01-15T02:00:05.000Z", "2024-01-15T02:08:45.000Z", BATCH_RUN)
    assert sig.batch_context == CONTEXT
    assert sig.timestamp == "2024-01-15T02:08:45.000Z"


@pytest.mark.parametrize(("passed", "state"), [(44000, WARNING), (40000, CRITICAL), (45230, OK)])
def test_dq_state_follows_the_data_quality_slo(host: SignalEngineHost, passed: int, state: str) -> None:
    """>= 0.99 OK, >= 0.95 WARNING, else CRITICAL (silver's slo.data_quality)."""
    sig = one(DQ_BREACH, host.add_batch_run(run(passed=passed, failed=45230 - passed)))
    assert sig.state == state


def test_dq_falls_back_to_contract_compliance_and_derives_missing_counts(host: SignalEngineHost) -> None:
    """Bronze has no data_quality SLO: contract_compliance (0.95) applies; passed is derived from failed."""
    sig = one(DQ_BREACH, host.add_batch_run(run(urn=BRONZE, processed=1000, passed=None, failed=60)))
    assert (sig.metrics["records_passed"], sig.metrics["slo_threshold"], sig.state) == (940, 0.95, WARNING)


def test_runs_without_record_counts_give_no_dq_signal(host: SignalEngineHost) -> None:
    """A run reporting no totals is not judged for data quality."""
    assert [s for s in host.add_batch_run(run(processed=None, passed=None, failed=None)) if s.signal_type == DQ_BREACH
            ] == []


def test_cost_anomaly_only_after_enough_runs(host: SignalEngineHost) -> None:
    """Cost is UNKNOWN for the first 5 runs; then a 4x run is CRITICAL, a normal one OK, with the expected range."""
    states = [one(COST_ANOMALY, host.add_batch_run(run(i, cost=100 + i % 3))).state for i in range(5)]
    assert states == [UNKNOWN] * 5
    normal = one(COST_ANOMALY, host.add_batch_run(run(5, cost=101)))
    assert normal.state == OK
    spike = one(COST_ANOMALY, host.add_batch_run(run(6, cost=400)))
    assert spike.state == CRITICAL
    assert spike.metrics["cost_units"] == 400
    assert spike.metrics["expected_low"] < 101 < spike.metrics["expected_high"] < 400
    assert spike.metrics["history_runs"] == 6


def test_cost_uses_duration_when_no_cost_units(host: SignalEngineHost) -> None:
    """Without cost_units the run's duration is the cost metric."""
    r = run(1)
    r.duration_s = 520.0
    assert one(COST_ANOMALY, host.add_batch_run(r)).metrics == {"duration_s": 520.0, "history_runs": 0}


def test_a_replayed_run_is_not_counted_twice(host: SignalEngineHost) -> None:
    """The same run_id again yields the identical signal and does not grow the cost history."""
    for i in range(5):
        host.add_batch_run(run(i, cost=100.0))
    first = one(COST_ANOMALY, host.add_batch_run(run(5, cost=300.0)))
    second = one(COST_ANOMALY, host.add_batch_run(run(5, cost=300.0)))
    assert first == second
    assert first.metrics["history_runs"] == 5
