"""Scenario 2 end to end: day-1 real-time WARN, day-2 Spark run, OpenLineage events, signals, and the RCA."""

from __future__ import annotations

from typing import Any

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.model import parse_run_event
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.model.evidence import decode_evidence
from signal_factory.rca.analyze import analyze
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE
from tests.integrations.test_spark import DAG_RUN_ID, INPUT, RUN_AT, RUN_ID, _scenario2_bronze

SIGNATURE = "UNKNOWN_ENUM:discount_type:FLASH_SALE"
SILVER_URN = "urn:dp:orders:silver"
pytestmark = pytest.mark.slow


def test_scenario2_from_stream_warn_to_batch_rca(spark: Any, control_plane: ControlPlane, tmp_path: Any) -> None:
    """The FLASH_SALE drift: WARN in stream, 380 FAILs in Spark, DRIFT + DQ OK (no stream page on silver), RCA."""
    from pyspark.sql import functions as F  # noqa: N812

    from signal_factory.integrations.spark import validate_dataframe

    store = open_store(f"sqlite:///{tmp_path}/s2.db")
    try:
        service = ReplayService(control_plane, store, Enforcer(control_plane))
        # Day 1, 14:30: orders-svc emits the new value; the real-time enforcer lets it through with a WARN.
        day1 = service.replay([EXAMPLE / "records/scenario2-flash-sale.jsonl"])
        assert day1.new_evidence == 1
        (warn,) = store.evidence.by_signature(SIGNATURE)
        assert warn.validation.result == "WARN"
        assert warn.dataset_urn == "urn:dp:orders:created"

        # Day 2, 02:05: the Spark job validates bronze strictly and emits evidence for what it drops.
        result = validate_dataframe(
            _scenario2_bronze(spark), control_plane.contracts["dc:orders.created:3"],
            dataset_urn="urn:dp:orders:silver", run_id=RUN_ID, job_name="orders_silver_transform",
            strict_enums=True, key_column="order_id", input_dataset=INPUT, upstream_dataset="urn:dp:orders:bronze",
            dag_run_id=DAG_RUN_ID, timestamp=RUN_AT)
        as_json = result.evidence_df.select(F.to_json(F.struct("*")).alias("value"))
        batch = [decode_evidence(row.value) for row in as_json.collect()]
        assert len(batch) == 380
        service.ingest_evidence(batch)

        # The OpenLineage events of the consumer job and the Spark run (START, COMPLETE with the facet).
        lineage = LineageIngest(service, load_mapping(EXAMPLE))
        signals = []
        for number, raw in enumerate((EXAMPLE / "scenario2/openlineage.jsonl").read_bytes().splitlines(), 1):
            signals += lineage.ingest(parse_run_event(raw, f"openlineage.jsonl:{number}")).signals

        silver = store.signals.list(dataset_urn="urn:dp:orders:silver", limit=100)
        dq = [s for s in silver if s.signal_type == "DQ_BREACH"]
        assert dq, f"no DQ_BREACH among {[s.signal_type for s in silver]}"
        assert dq[0].state == "OK"
        assert round(dq[0].metrics["compliance_rate"], 4) == 0.9916
        assert (dq[0].metrics["records_processed"], dq[0].metrics["records_failed"]) == (45_230, 380)
        assert dq[0].window is not None
        assert (dq[0].window.type, dq[0].metrics["evidence_count"], len(dq[0].evidence_refs)) == ("BATCH_RUN", 380, 10)
        assert [(t.signature, t.count, t.is_new) for t in dq[0].top_failures] == [(SIGNATURE, 380, True)]
        drift = [s for s in silver if s.signal_type == "DRIFT_DETECTED"]
        assert drift
        assert drift[0].state == "WARNING"
        assert drift[0].details is not None
        assert (drift[0].details["field"], drift[0].details["new_value"]) == ("discount_type", "FLASH_SALE")
        # The run's FAIL-only evidence is batch evidence: silver's stream windows never saw it, so the only
        # incident on silver is the seed's Step 6 drift warning, not a stream "Contract Violation" SEV-1.
        assert [s.signal_type for s in silver if s.signal_type in ("CONTRACT_BREACH", "VOLUME_ANOMALY")] == []
        on_silver = [(i.signal_type, i.failure_signature) for i in store.incidents.list(dataset_urn=SILVER_URN)]
        assert on_silver == [("DRIFT_DETECTED", SIGNATURE)]

        report = analyze(store, signature=SIGNATURE, catalog=control_plane.datasets)
        assert report.root_cause.service == "orders-svc"
        radius = {b.urn for b in report.blast_radius}
        assert {"urn:dp:orders:gold_daily", "urn:dp:dashboards:executive_revenue"} <= radius
        assert "urn:dp:orders:silver" in radius or any(r.run_id == RUN_ID for r in report.affected_runs)
        assert any(r.run_id == RUN_ID for r in report.affected_runs)
    finally:
        store.close()
