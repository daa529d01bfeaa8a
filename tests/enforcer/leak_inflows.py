"""The leak corpus for the inflows beside records: OpenLineage events, posted evidence, S3 objects and
deployment markers, each carrying its channel's PII values (every written form) in every string a
producer controls there. `leak_outputs.collect` sends them the ways a user would.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from tests.enforcer.leak_corpus import CHANNELS, INFLOW_CHANNELS, pii_for

LINEAGE_NAMES, LINEAGE_FACETS, EVIDENCE, S3_OBJECTS, DEPLOYMENTS = INFLOW_CHANNELS
BUCKET = "landing"
S3_MAPPING = {f"s3://{BUCKET}/orders/": "urn:dp:orders:created"}
S3_EVENT_TIME = "2024-01-15T09:58:30.000Z"


def forms(channel: str) -> Iterator[tuple[str, str]]:
    """(PII kind, form) for every written form of the channel's values."""
    number = len(CHANNELS) + INFLOW_CHANNELS.index(channel)
    for pii in pii_for(number):
        for form in pii.forms:
            yield pii.kind, str(form)


def _detectable(channel: str) -> set[str]:
    number = len(CHANNELS) + INFLOW_CHANNELS.index(channel)
    return {str(f) for pii in pii_for(number) for f in pii.detectable}


def _ts(n: int) -> str:
    return f"2024-01-15T09:{56 + n // 60 % 4:02d}:{n % 60:02d}.000Z"


def _event(event_type: str, n: int, run: str, job: dict[str, Any], run_facets: dict[str, Any],
           inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eventType": event_type, "eventTime": _ts(n), "run": {"runId": run, "facets": run_facets},
            "job": job, "inputs": inputs, "outputs": outputs, "producer": "https://example.com/leak"}


def _spark_job(name: str = "orders_silver_transform", namespace: str = "spark") -> dict[str, Any]:
    return {"namespace": namespace, "name": name,
            "facets": {"jobType": {"processingType": "BATCH", "integration": "SPARK", "jobType": "TASK"}}}


SILVER = {"namespace": "delta://unity-catalog", "name": "sales.orders_silver",
          "outputFacets": {"outputStatistics": {"rowCount": 900}}}


def lineage_events() -> list[dict[str, Any]]:
    """OpenLineage events: PII in job, run and dataset names (one channel) and in facets (the other): the
    parent (DAG run) facet, errorMessage, the observability facet's failure signatures, schema, column
    lineage, data-quality assertions, and custom facets on RunEvents, DatasetEvents and JobEvents."""
    out: list[dict[str, Any]] = []
    for n, (_, v) in enumerate(forms(LINEAGE_NAMES)):
        job, run = _spark_job(f"job.{v}", f"spark-{v}"), f"run-{v}"
        ins = [{"namespace": f"s3://bucket-{v}", "name": f"in/{v}/"}]
        outs = [{"namespace": f"delta://{v}", "name": f"sales.{v}"}, SILVER]
        out += [_event("START", 2 * n, run, job, {}, ins, outs), _event("COMPLETE", 2 * n + 1, run, job, {
            "observability_evidence": {"summary": {"records_processed": 1000, "records_passed": 900,
                                                   "records_failed": 100}}}, ins, outs)]
    for n, (_, v) in enumerate(forms(LINEAGE_FACETS)):
        run = f"spark-leak-20240115-{n:06d}"
        facets = {"parent": {"job": {"namespace": f"airflow-{v}", "name": f"dag-{v}"}, "run": {"runId": v}},
                  "errorMessage": {"message": f"failed for {v}", "programmingLanguage": "python",
                                   "stackTrace": f"Traceback: {v}"},
                  "observability_evidence": {"summary": {
                      "records_processed": 1000, "records_passed": 600, "records_failed": 400,
                      "failure_signatures": [{"reason_code": f"UNKNOWN_ENUM:discount_type:{v}", "count": 300},
                                             {"reason_code": f"PII_DETECTED:extra.{v}:SSN", "count": 50},
                                             {"reason": f"custom failure {v}", "count": 50}]}},
                  "custom": {v: v, "note": f"see {v}"}}
        silver = {**SILVER, "facets": {"schema": {"fields": [{"name": v, "type": "string"},
                                                             {"name": "discount_type", "type": v}]}},
                  "outputFacets": {**SILVER["outputFacets"], "columnLineage": {"fields": {v: {
                      "inputFields": [{"namespace": "s3://data-lake-prod", "name": "bronze/orders/2024-01-14/",
                                       "field": v}], "transformationDescription": f"copy of {v}"}}}}}
        ins = [{"namespace": "s3://data-lake-prod", "name": "bronze/orders/2024-01-14/",
                "inputFacets": {"dataQualityAssertions": {"assertions": [{"assertion": v, "success": False,
                                                                          "column": v}]}}}]
        out.append(_event("FAIL" if n % 5 == 0 else "COMPLETE", 40 + n, run, _spark_job(), facets, ins, [silver]))
        # the static event types: a DatasetEvent and a JobEvent with the same custom facets
        out.append({"eventTime": _ts(40 + n), "dataset": {**SILVER, "facets": {"custom": facets["custom"]}}})
        out.append({"eventTime": _ts(40 + n), "job": {**_spark_job(f"declared_{n}"), "facets": {
            "custom": facets["custom"]}}, "inputs": ins, "outputs": [SILVER]})
    return out


def evidence_docs() -> list[dict[str, Any]]:
    """Evidence as a stream processor or Spark job posts it: PII in every string field. Its payload copy
    holds values in detectable forms only: a payload copy is redacted as the enforcer's are, by the
    detectors (docs/privacy.md, Not covered); key names in every form."""
    out: list[dict[str, Any]] = []
    detectable = _detectable(EVIDENCE)
    for n, (kind, v) in enumerate(forms(EVIDENCE)):
        code = f"UNKNOWN_ENUM:discount_type:{v}"
        payload: dict[str, Any] = {"order_id": f"ORD-2024-0115-7{n:04d}", v: 1}
        if v in detectable:
            payload["note"] = f"call {v}"
        if kind == "CREDIT_CARD" and v.isdigit():
            payload["card_number"] = int(v)
        out.append({
            "evidence_id": f"evd-{v}" if n % 2 else f"evd-01HQXLEAK{n:016d}",
            "timestamp": _ts(n), "dataset_urn": "urn:dp:orders:created",
            "producer": {"id": v, "confidence": "HIGH", "version": v, "run_id": v},
            "validation": {"result": "FAIL", "failed_gates": ["G4_CONTRACT"],
                           "reason_codes": [code, f"PII_DETECTED:extra.{v}:SSN", f"MISSING_FIELD:{v}"],
                           "gates": [{"gate": "G4_CONTRACT", "result": "FAIL", "reason_code": code,
                                      "details": {"field": f"extra.{v}", "actual": v, v: v,
                                                  "message": f"value {v} is not allowed", "n": [v]}}]},
            "source": {"topic": f"raw.{v}", "timestamp": _ts(n), "origin": v, "input_dataset": f"s3://b/{v}/",
                       "source_record_id": v},
            "otel": {"trace_id": v, "span_id": v},
            "lineage": {"upstream_urns": [v], "job_urn": v, "dag_run_id": v, "spark_run_id": v,
                        "upstream_dataset": v},
            "payload": payload, "payload_ref": v})
    return out


def deployment_markers() -> list[dict[str, Any]]:
    """Markers from a CD hook: PII as the service, the version, the commit and in the description."""
    out = []
    for n, (_, v) in enumerate(forms(DEPLOYMENTS)):
        service = v if n % 2 else "orders-svc"
        out.append({"service": service, "version": v, "at": _ts(n), "commit": v, "description": f"release {v}"})
    return out


class FakeS3:
    """An in-memory `S3Client`: objects by key, each with its (producer-set) metadata."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, dict[str, Any]]] = {}

    def put(self, key: str, body: bytes, **meta: Any) -> None:
        self.objects[(BUCKET, key)] = (body, meta)

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        body, meta = self.objects[(kwargs["Bucket"], kwargs["Key"])]
        return {"Body": io.BytesIO(body), "ContentLength": len(body),
                "LastModified": datetime(2024, 1, 15, 9, 58, 30, tzinfo=UTC), **meta}


def s3_objects() -> tuple[FakeS3, list[bytes]]:
    """Objects whose keys and ETags carry PII (and rows, in the forms the detectors know), and one S3
    notification per object."""
    s3 = FakeS3()
    notes: list[bytes] = []
    detectable = _detectable(S3_OBJECTS)
    for n, (_, v) in enumerate(forms(S3_OBJECTS)):
        key = f"orders/{v}/part-{n}.jsonl"
        # Rows are records (their payload may be copied into evidence): detectable forms only, as for records.
        row = {"order_id": f"ORD-2024-0115-8{n:04d}", "customer_id": "cust-1", "total_amount": 1.0,
               "currency": "USD", "discount_type": v if v in detectable else "FLASH_SALE"}
        s3.put(key, json.dumps(row).encode() + b"\n", ETag=f'"{v}"', ContentType="application/x-ndjson")
        record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": S3_EVENT_TIME,
                  "eventName": "ObjectCreated:Put",
                  "s3": {"bucket": {"name": BUCKET},
                         "object": {"key": quote_plus(key, safe="/"), "size": 10, "eTag": v}}}
        notes.append(json.dumps({"Records": [record]}).encode())
    return s3, notes


def raw_bodies() -> str:
    """Everything this module sends, as text (the control search looks for every channel in it)."""
    _, notes = s3_objects()
    return "\n".join([json.dumps(lineage_events()), json.dumps(evidence_docs()), json.dumps(deployment_markers()),
                      *(n.decode() for n in notes)])
