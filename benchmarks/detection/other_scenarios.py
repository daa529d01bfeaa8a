"""Scenarios beyond a broken record shape: batch drift (Scenario 2), volume drop, freshness stall, 40 datasets."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from benchmarks.detection.labels import (
    BATCH,
    FRESHNESS,
    UPSTREAM,
    VOLUME,
    BatchRun,
    Cause,
    PageLabel,
    Scenario,
    contract_label,
)
from benchmarks.detection.stream_scenarios import DAY0, HOUR, MIN, assemble, background, baseline, pick
from benchmarks.detection.traffic import Fault, Rec, Stream, Version, iso
from benchmarks.detection.world import BRONZE, ORDERS, SILVER, big_world, shop_world

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
JOB = "orders_silver_transform"
SIGNATURE = "UNKNOWN_ENUM:discount_type:FLASH_SALE"


def batch_drift(size: str, seed: int) -> Scenario:
    """Scenario 2, large enough to matter: orders-svc v3.18 sends discount_type FLASH_SALE on 15% of orders
    (a stream WARN: no page); the nightly Spark job rejects them (FAIL), silver's DQ drops below its SLO."""
    w = shop_world(orders_volume=None, orders_freshness=None)
    start = DAY0 - 12 * HOUR  # 2024-01-14T12:00Z
    end = start + int(pick(size, 6, 1) * HOUR)
    deploy = start + int(pick(size, 150, 20) * MIN)
    cause = Cause("orders-svc", "v3.18", UPSTREAM)
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 1.0, start, end,
                    [baseline("v3.16"),
                     Version(deploy, "v3.18", (Fault("value", 0.15, "discount_type", "FLASH_SALE"),))])
    name = "batch_enum_drift"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end, payments=0.0, shipments=0.0,
                                                                    inventory=0.0)], seed, start, end)
    run_at = DAY0 + 2 * HOUR + 5 * MIN + 30_000  # 2024-01-15T02:05:30Z, as in the seed
    batch = _spark_run([r for r in recs if r.topic == "raw.orders.events"], run_at)
    label = PageLabel(SILVER, BATCH, run_at, DAY0 + 2 * HOUR + 8 * MIN + 45_000, cause, w.downstream(SILVER),
                      expect_sev1=True, note="stream side: WARN only, must not page")
    return Scenario(name, "upstream enum drift into a Spark job (DQ below SLO)", w, recs, marks, [label], start,
                    end, batch=batch, extra_ms=10 * MIN)


def _spark_run(orders: list[Rec], run_at: int) -> BatchRun:
    """What the Spark job emits: one FAIL evidence per rejected row, and START/COMPLETE RunEvents."""
    run_id = "spark-orders-silver-20240115-020005"
    dag_run = "scheduled__2024-01-15T02:00:00+00:00"
    input_path = "bronze/orders/2024-01-14/"
    bad = [r for r in orders if r.faulty]
    evidence = [json.dumps({
        "evidence_id": f"evd-{_time_part(run_at)}{_key_hash(run_id, r.key)}",
        "timestamp": iso(run_at), "dataset_urn": SILVER,
        "producer": {"id": f"spark:{JOB}", "confidence": "HIGH", "run_id": run_id},
        "validation": {"result": "FAIL", "gates": [{"gate": "G4_CONTRACT", "result": "FAIL", "reason_code": SIGNATURE}],
                       "failed_gates": ["G4_CONTRACT"], "reason_codes": [SIGNATURE]},
        "source": {"input_dataset": f"s3://bench-lake/{input_path}", "source_record_id": r.key},
        "lineage": {"dag_run_id": dag_run, "spark_run_id": run_id, "upstream_dataset": BRONZE},
    }).encode() for r in bad]
    processed = len(orders)
    facet: dict[str, Any] = {"observability_evidence": {
        "_producer": "https://github.com/signal-factory/signal-factory", "_schemaURL": "urn:schema:ol-obs-facet:1",
        "summary": {"records_processed": processed, "records_passed": processed - len(bad), "records_warned": 0,
                    "records_failed": len(bad), "compliance_rate": round((processed - len(bad)) / processed, 4),
                    "failure_signatures": [{"reason_code": SIGNATURE, "count": len(bad)}]},
        "evidence_topic": "signal_factory.evidence", "evidence_count": len(bad)}}
    parent = {"parent": {"job": {"namespace": "airflow", "name": "orders_daily_agg"}, "run": {"runId": dag_run}}}
    io = {"inputs": [{"namespace": "s3://bench-lake", "name": input_path}],
          "outputs": [{"namespace": "delta://bench", "name": "sales.orders_silver"}]}
    job = {"namespace": "spark", "name": JOB}
    sink = {"eventType": "COMPLETE", "eventTime": iso(orders[-1].event_ms + 1000),
            "run": {"runId": "kafka-consumer-run-20240114"},
            "job": {"namespace": "streaming", "name": "orders-kafka-to-bronze"},
            "inputs": [{"namespace": "kafka://bench", "name": "raw.orders.events"}],
            "outputs": [{"namespace": "s3://bench-lake", "name": input_path,
                         "facets": {"outputStatistics": {"rowCount": processed}}}]}
    start = {"eventType": "START", "eventTime": iso(run_at - 325_000), "run": {"runId": run_id, "facets": parent},
             "job": job, **io}
    complete = {"eventType": "COMPLETE", "eventTime": iso(run_at + 195_000),
                "run": {"runId": run_id, "facets": {**parent, **facet}}, "job": job, **io}
    return BatchRun(evidence, [json.dumps(e).encode() for e in (sink, start, complete)])


def _key_hash(run_id: str, key: str) -> str:
    """As the Spark job does: the first 64 bits of sha256(run_id | key), upper-case hex."""
    return hashlib.sha256(f"{run_id}|{key}".encode()).hexdigest()[:16].upper()


def _time_part(ms: int) -> str:
    return "".join(_CROCKFORD[(ms >> (5 * i)) & 31] for i in range(9, -1, -1))


def volume_drop(size: str, seed: int) -> Scenario:
    """orders-svc v3.19 silently loses 90% of its events (no bad record at all) after hours of steady traffic."""
    history = pick(size, 9, 4)
    w = shop_world(orders_volume=(3.0, int(pick(size, 6, 3))))
    start = DAY0
    deploy = start + int(history * HOUR)
    end = deploy + int(pick(size, 3, 2) * HOUR)
    rate = pick(size, 1.0, 0.3)
    cause = Cause("orders-svc", "v3.19")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", rate, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.19", (Fault("volume", 0.1),))])
    name = "volume_drop"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end, shipments=0.0, inventory=0.0)],
                           seed, start, end)
    label = PageLabel(ORDERS, VOLUME, deploy, end, cause, w.downstream(ORDERS), expect_sev1=True,
                      note="hourly volume window: minutes, not seconds, to page")
    return Scenario(name, f"volume drops by 90% after {history:g} h of history", w, recs, marks, [label], start, end)


def freshness_stall(size: str, seed: int) -> Scenario:
    """orders-svc v3.20 crash-loops: raw.orders.events goes silent until the rollback; other topics flow."""
    w = shop_world(orders_volume=None)
    start = DAY0 + 3 * HOUR
    deploy = start + int(pick(size, 60, 15) * MIN)
    back = deploy + int(pick(size, 30, 15) * MIN)
    end = back + int(pick(size, 30, 10) * MIN)
    cause = Cause("orders-svc", "v3.20")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 1.0, start, end,
                    [baseline("v3.19"), Version(deploy, "v3.20", (Fault("stall"),)), Version(back, "v3.19")])
    name = "freshness_stall"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end)], seed, start, end)
    marks.append({"service": "orders-svc", "version": "v3.19", "at": iso(back), "commit": "rollback"})
    label = PageLabel(ORDERS, FRESHNESS, deploy, back, cause, w.downstream(ORDERS), expect_sev1=True,
                      note="freshness SLO 5 min")
    return Scenario(name, "producer stalls for longer than its freshness SLO", w, recs, marks, [label], start, end)


def world40(size: str, seed: int) -> Scenario:
    """40 datasets, 15 services: two broken deploys (tier 1 and tier 2) among four innocent ones."""
    w = big_world()
    start = DAY0 + 10 * HOUR
    t1 = start + int(pick(size, 30, 8) * MIN)
    end = t1 + int(pick(size, 30, 8) * MIN)
    a, b = Cause("fraud-svc", "v7.3"), Cause("billing-svc", "v1.12")
    faults = {"fraud-svc": (t1, "v7.3", (Fault("missing", 0.7),), 3.0),
              "billing-svc": (t1 + 90_000, "v1.12", (Fault("value", 0.6, "currency", "eur"),), 1.0)}
    innocent = {"carts-svc": t1 - 50_000, "ledger-svc": t1 - 10_000, "search-svc": t1 + 60_000,
                "pricing-svc": t1 + 85_000}
    streams = []
    for k, svc in enumerate(w.services):
        topic = w.datasets[f"urn:dp:{svc.removesuffix('-svc')}:events"].topic
        assert topic is not None
        versions = [baseline("v1.0")]
        rate = 0.3
        if svc in faults:
            at, ver, fs, rate = faults[svc]
            versions.append(Version(at, ver, fs))
        elif svc in innocent:
            versions.append(Version(innocent[svc], "v1.1"))
        streams.append(Stream(topic, svc, rate + 0.02 * k, start, end, versions))
    name = "world_40"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    labels = [contract_label(w, recs, "raw.fraud.events", a, end, fast=True),
              contract_label(w, recs, "raw.billing.events", b, end, fast=False)]
    return Scenario(name, "40 datasets, 15 services, 2 bad + 4 innocent deploys", w, recs, marks, labels, start, end)
