"""Scenario 2 end to end, in time order: day-1 real-time WARN and traffic, day-2 Spark run, OpenLineage events,
signals, incidents (none, as in the seed) and the RCA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.model import parse_run_event
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.model.evidence import decode_evidence
from signal_factory.model.records import RawRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.rca.analyze import analyze
from signal_factory.runtime.replay import ReplayService, load_records
from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE
from tests.integrations.test_spark import DAG_RUN_ID, INPUT, RUN_AT, RUN_ID, _scenario2_bronze

SIGNATURE = "UNKNOWN_ENUM:discount_type:FLASH_SALE"
SILVER_URN = "urn:dp:orders:silver"
MINUTE = 60_000
pytestmark = pytest.mark.slow


def ms(text: str) -> int:
    value = parse_iso_ms(text)
    assert value is not None
    return value


def day_one_traffic(first: RawRecord) -> list[RawRecord]:
    """orders-svc keeps selling after 14:30 (the seed's bronze partition holds 45,230 orders): one clean order
    every 4 minutes until the Spark run ends, so every upstream dataset stays fresh as in the seed's world."""
    out = []
    for n, t in enumerate(range(first.timestamp_ms or 0, ms("2024-01-15T02:12:00Z"), 4 * MINUTE)):
        if n == 0:
            continue
        body = msgspec.json.decode(first.value or b"{}")
        body["event_id"] = f"01HQW9ABCD1234567890{n:06d}"
        body["timestamp"] = iso_ms(t)
        body["payload"].update(order_id=f"ORD-2024-0114-{60000 + n}", discount_type="NONE")
        out.append(msgspec.structs.replace(first, offset=(first.offset or 0) + n, timestamp_ms=t,
                                           key=body["payload"]["order_id"], value=msgspec.json.encode(body)))
    return out


def consumer_run(t: int) -> bytes:
    """The Kafka-to-bronze consumer's hourly COMPLETE (seed Step 2), as at 14:30:01 but one per hour."""
    day = iso_ms(t)[:10]
    return msgspec.json.encode({
        "eventType": "COMPLETE", "eventTime": iso_ms(t),
        "run": {"runId": f"kafka-consumer-run-{iso_ms(t)}", "facets": {"parent": {
            "job": {"namespace": "streaming", "name": "orders-kafka-to-bronze"},
            "run": {"runId": "persistent-consumer-001"}}}},
        "job": {"namespace": "streaming", "name": "orders-kafka-to-bronze"},
        "inputs": [{"namespace": "kafka://msk-prod", "name": "raw.orders.events"}],
        "outputs": [{"namespace": "s3://data-lake-prod", "name": f"bronze/orders/{day}/"}]})


def test_scenario2_from_stream_warn_to_batch_rca(spark: Any, control_plane: ControlPlane, tmp_path: Any) -> None:
    """The seed's timeline in time order: WARN in stream, 380 FAILs in Spark, DRIFT + DQ OK, no page at all, RCA."""
    from pyspark.sql import functions as F  # noqa: N812

    from signal_factory.integrations.spark import validate_dataframe

    store = open_store(f"sqlite:///{tmp_path}/s2.db")
    try:
        service = ReplayService(control_plane, store, Enforcer(control_plane))
        lineage = LineageIngest(service, load_mapping(EXAMPLE))
        service.replay([], flush=False)  # the control plane's lineage (FEEDS) into the graph, as `replay` does
        # Day 2, 02:05: the Spark job validates bronze strictly and emits evidence for what it drops.
        result = validate_dataframe(
            _scenario2_bronze(spark), control_plane.contracts["dc:orders.created:3"],
            dataset_urn="urn:dp:orders:silver", run_id=RUN_ID, job_name="orders_silver_transform",
            strict_enums=True, key_column="order_id", input_dataset=INPUT, upstream_dataset="urn:dp:orders:bronze",
            dag_run_id=DAG_RUN_ID, timestamp=RUN_AT)
        as_json = result.evidence_df.select(F.to_json(F.struct("*")).alias("value"))
        batch = [decode_evidence(row.value) for row in as_json.collect()]
        assert len(batch) == 380

        # Everything that happens, in time order: day 1 at 14:30 orders-svc emits the new value (the real-time
        # enforcer lets it through with a WARN) and keeps selling; the consumer writes bronze every hour; the
        # Spark run starts at 02:00:05, emits its evidence at 02:05:30 and completes at 02:08:45.
        records, _ = load_records([EXAMPLE / "records/scenario2-flash-sale.jsonl"])
        (flash,) = records
        assert isinstance(flash, RawRecord)
        events = [parse_run_event(raw, f"openlineage.jsonl:{n}")
                  for n, raw in enumerate((EXAMPLE / "scenario2/openlineage.jsonl").read_bytes().splitlines(), 1)]
        hours = range(ms("2024-01-14T15:30:01Z"), ms("2024-01-15T02:00:00Z"), 60 * MINUTE)
        events += [parse_run_event(consumer_run(t), f"consumer:{t}") for t in hours]
        timeline: list[tuple[int, int, Callable[[], object]]] = [
            (flash.timestamp_ms or 0, 0, lambda: service.ingest([flash])),
            (ms("2024-01-15T02:05:30Z"), 1, lambda: service.ingest_evidence(batch))]
        timeline += [(r.timestamp_ms or 0, 0, lambda r=r: service.ingest([r])) for r in day_one_traffic(flash)]
        timeline += [(e.time_ms, 2, lambda e=e: lineage.ingest(e)) for e in events]
        for _, _, step in sorted(timeline, key=lambda x: (x[0], x[1])):
            step()
        (warn,) = store.evidence.by_signature(SIGNATURE, dataset_urn="urn:dp:orders:created")
        assert warn.validation.result == "WARN"
        assert warn.dataset_urn == "urn:dp:orders:created"

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
        # The run's FAIL-only evidence is batch evidence: silver's stream windows never saw it (before, it
        # opened a SEV-1 "Contract Violation" there while the run's DQ_BREACH said OK).
        assert [s.signal_type for s in silver if s.signal_type in ("CONTRACT_BREACH", "VOLUME_ANOMALY")] == []
        # Exactly the incidents the seed describes: none. Its Step 6 signals are a drift WARNING (a notice, not
        # a page) and an OK DQ_BREACH; the RCA is asked for by an analyst (Step 8).
        assert [(i.dataset_urn, i.signal_type, i.severity) for i in store.incidents.list()] == []

        report = analyze(store, signature=SIGNATURE, catalog=control_plane.datasets)
        assert report.root_cause.service == "orders-svc"
        radius = {b.urn for b in report.blast_radius}
        assert {"urn:dp:orders:gold_daily", "urn:dp:dashboards:executive_revenue"} <= radius
        assert "urn:dp:orders:silver" in radius or any(r.run_id == RUN_ID for r in report.affected_runs)
        assert any(r.run_id == RUN_ID for r in report.affected_runs)
    finally:
        store.close()
