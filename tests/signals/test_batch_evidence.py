"""Batch-run evidence feeds its run's BATCH_RUN signals, never the stream windows of the same dataset."""

from __future__ import annotations

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import FAIL, PASS
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import (
    BATCH_RUN,
    CONTRACT_BREACH,
    DQ_BREACH,
    DRIFT_DETECTED,
    FRESHNESS_BREACH,
    UNKNOWN,
    VOLUME_ANOMALY,
    BatchRunTotals,
    Signal,
)
from signal_factory.signals.routing import batch_run_id
from tests.signals.builders import DAG_RUN, DAY, FLASH, MINUTE, RUN, SILVER, batch_evidence, evidence, ms

AT = ms("2024-01-15T02:05:30.000Z")
CONTEXT = {"dag_id": "orders_daily_agg", "dag_run_id": DAG_RUN, "spark_run_id": RUN}


def complete(run_id: str = RUN, **counts: int | None) -> BatchRunTotals:
    """The run's OpenLineage COMPLETE as the ingest hands it over (seed Step 5 counts unless overridden)."""
    totals: dict[str, int | None] = {"records_processed": 45230, "records_passed": 44850, "records_failed": 380}
    totals.update(counts)
    return BatchRunTotals(dataset_urn=SILVER, run_id=run_id, job_name="orders_silver_transform",
                          started_at="2024-01-15T02:00:05Z", ended_at="2024-01-15T02:08:45Z",
                          failure_signatures={FLASH: 380} if totals["records_failed"] else {},
                          batch_context=CONTEXT, **totals)


def spark_evidence(count: int = 380, run_id: str = RUN) -> list:
    return [batch_evidence(i, AT, run_id=run_id) for i in range(count)]


def of_type(signals: list[Signal], kind: str) -> list[Signal]:
    return [s for s in signals if s.signal_type == kind]


def test_the_spark_evidence_shape_is_batch_evidence() -> None:
    """Evidence naming its run (producer.run_id, else lineage spark/dag run id) is batch; enforcer evidence is not."""
    ev = batch_evidence(1, AT)
    assert batch_run_id(ev) == RUN
    ev.producer.run_id = None  # type: ignore[union-attr]
    assert batch_run_id(ev) == RUN  # from lineage.spark_run_id
    assert batch_run_id(evidence(1, AT, FAIL)) is None


def test_fail_only_batch_evidence_opens_no_stream_window(host: SignalEngineHost) -> None:
    """380 FAIL-only evidence of a Spark run: no CONTRACT_BREACH / VOLUME_ANOMALY for silver, even after flush."""
    out = host.add_evidence(spark_evidence())
    out += host.advance_to(AT + DAY)
    out += host.flush()
    assert of_type(out, CONTRACT_BREACH) == []
    assert of_type(out, VOLUME_ANOMALY) == []
    assert [s.dataset_urn for s in of_type(out, DRIFT_DETECTED)] == [SILVER]  # drift still sees the signature
    assert host.watermark(SILVER) == AT + DAY  # only the tick moved it, never the batch evidence


def test_batch_evidence_does_not_move_the_watermark_or_freshness(host: SignalEngineHost) -> None:
    """The run's evidence timestamps are job time, not record time: watermark and freshness clock stay put."""
    host.add_evidence(spark_evidence(5))
    assert host.watermark(SILVER) is None
    assert not of_type(host.add_evidence(spark_evidence(5)), FRESHNESS_BREACH)


def test_the_runs_dq_signal_carries_its_evidence(host: SignalEngineHost) -> None:
    """Seed Step 6: DQ_BREACH OK at 0.9916 over BATCH_RUN, with the run's evidence refs and is_new=true."""
    host.add_evidence(spark_evidence())
    (dq,) = of_type(host.add_batch_run(complete()), DQ_BREACH)
    assert (dq.state, dq.window.type if dq.window else None) == ("OK", BATCH_RUN)
    assert dq.metrics["compliance_rate"] == 0.9916
    assert dq.metrics["evidence_count"] == 380
    assert dq.evidence_refs == [f"evd-B{i:025d}" for i in range(10)]
    (top,) = dq.top_failures
    assert (top.signature, top.count, top.is_new, top.first_seen) == (FLASH, 380, True, "2024-01-15T02:05:30.000Z")
    assert dq.batch_context == CONTEXT


def test_stream_and_batch_evidence_of_one_dataset_stay_apart(host: SignalEngineHost) -> None:
    """Stream PASS records of silver window as usual while the run's FAILs in the same batch do not count there."""
    stream = [evidence(i, AT + i * 100, PASS, urn=SILVER) for i in range(60)]
    out = host.add_evidence(stream + spark_evidence(60))
    out += host.advance_to(AT + 10 * MINUTE)
    (final,) = [s for s in of_type(out, CONTRACT_BREACH) if not s.provisional]
    assert (final.state, final.metrics["evidence_count"], final.metrics["fail_count"]) == ("OK", 60, 0)


def test_run_without_facet_counts_from_its_evidence_and_row_count(host: SignalEngineHost) -> None:
    """No observability facet: processed = rows written + FAIL evidence; 380 of 45,230 is still OK at 0.99."""
    host.add_evidence(spark_evidence())
    run = complete(records_processed=None, records_passed=None, records_failed=None)
    run.output_rows = 44850
    (dq,) = of_type(host.add_batch_run(run), DQ_BREACH)
    assert (dq.state, dq.metrics["records_processed"], dq.metrics["records_failed"]) == ("OK", 45230, 380)


def test_a_run_that_never_reports_is_reported_from_its_evidence(control_plane: ControlPlane) -> None:
    """Idle past batch_run_timeout_ms, the run's evidence gives an UNKNOWN DQ_BREACH (failures known, total not)."""
    host = SignalEngineHost(control_plane, EngineConfig(batch_run_timeout_ms=60 * MINUTE))
    host.add_evidence(spark_evidence(7))
    assert not of_type(host.advance_to(AT + 59 * MINUTE), DQ_BREACH)
    (dq,) = of_type(host.advance_to(AT + 60 * MINUTE), DQ_BREACH)
    assert (dq.state, dq.metrics["records_failed"], len(dq.evidence_refs)) == (UNKNOWN, 7, 7)
    assert dq.batch_context == {"run_id": RUN, "dag_run_id": DAG_RUN}
    host.add_evidence([batch_evidence(99, AT + 61 * MINUTE)])  # late evidence of a reported run
    assert not of_type(host.advance_to(AT + 3 * 60 * MINUTE), DQ_BREACH)


def test_waiting_runs_are_bounded(control_plane: ControlPlane) -> None:
    """More than batch_pending_runs runs waiting: the oldest is reported on its own, state stays bounded."""
    host = SignalEngineHost(control_plane, EngineConfig(batch_pending_runs=2))
    out = []
    for n in range(3):
        out += host.add_evidence([batch_evidence(n, AT + n, run_id=f"run-{n}")])
    assert [s.batch_context["run_id"] for s in of_type(out, DQ_BREACH) if s.batch_context] == ["run-0"]
    assert len(host._s.batch_runs.pending) == 2


def test_evidence_after_its_run_reported_is_not_counted_twice(host: SignalEngineHost) -> None:
    """The run's totals already counted every row: its late evidence never yields a second DQ_BREACH."""
    host.add_batch_run(complete())
    host.add_evidence(spark_evidence(3))
    assert not of_type(host.advance_to(AT + 2 * DAY), DQ_BREACH)


def test_evidence_naming_only_its_dag_run_joins_the_run_of_that_dag_run(host: SignalEngineHost) -> None:
    """Evidence with just lineage.dag_run_id is held under it and joins the run whose batch_context names it."""
    batch = spark_evidence(4)
    for ev in batch:
        ev.producer.run_id = None  # type: ignore[union-attr]
        ev.lineage.spark_run_id = None  # type: ignore[union-attr]
    assert {batch_run_id(ev) for ev in batch} == {DAG_RUN}
    host.add_evidence(batch)
    (dq,) = of_type(host.add_batch_run(complete()), DQ_BREACH)
    assert (dq.metrics["evidence_count"], len(dq.evidence_refs)) == (4, 4)
