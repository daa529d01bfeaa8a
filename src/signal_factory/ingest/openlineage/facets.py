"""Reading the facets the pipeline uses out of a RunEvent. Pure: data in, data out.

Where producers disagree on placement, every documented place is read:
- observability summary: run facet `observability_evidence.summary` (Scenario 2 Step 5) or
  `observability.evidence_summary` (seed 2.2); failure signatures as `reason_code` or `reason`.
- row count: output `outputStatistics.rowCount` (in `outputFacets` per spec, or `facets`), else the run
  facet `outputStatistics` (Scenario 2 Step 5).
- column lineage: `columnLineage.fields` as the spec's object keyed by output column, or the seed's list.
- processing type: job facet `jobType.processingType` (BATCH/STREAMING); without it, a run reading a
  `kafka://` dataset is STREAM, anything else BATCH.
- data quality: `dataQualityAssertions` (assertion, success, column) and `dataQualityMetrics` (rowCount,
  bytes, fileCount, columnMetrics) in `inputFacets` per spec, or `facets` (older producers).
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.ingest.openlineage.model import DatasetRef, JobEvent, RunEvent
from signal_factory.signals.model import Assertion

BATCH = "BATCH"
STREAM = "STREAM"


class ObservabilitySummary(msgspec.Struct, omit_defaults=True):
    records_processed: int | None = None
    records_passed: int | None = None
    records_failed: int | None = None
    failure_signatures: dict[str, int] = msgspec.field(default_factory=dict)
    facet: str = ""  # which facet name it came from


class Parent(msgspec.Struct, omit_defaults=True):
    run_id: str
    job_namespace: str | None = None
    job_name: str | None = None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parent(event: RunEvent) -> Parent | None:
    facet = as_dict(event.run.facets.get("parent"))
    run_id = as_dict(facet.get("run")).get("runId")
    if not isinstance(run_id, str) or not run_id:
        return None
    job = as_dict(facet.get("job"))
    ns, name = job.get("namespace"), job.get("name")
    return Parent(run_id, ns if isinstance(ns, str) else None, name if isinstance(name, str) else None)


def observability(event: RunEvent) -> ObservabilitySummary | None:
    """The observability run facet's summary, under either name (SPEC: accept both, emit the latter)."""
    for facet_name, summary_key in (("observability_evidence", "summary"), ("observability", "evidence_summary")):
        summary = as_dict(as_dict(event.run.facets.get(facet_name)).get(summary_key))
        if not summary:
            continue
        sigs: dict[str, int] = {}
        for raw in summary.get("failure_signatures") or []:
            item = as_dict(raw)
            code = item.get("reason_code") or item.get("reason") or item.get("signature")
            count = _int(item.get("count"))
            if isinstance(code, str) and code:
                sigs[code] = sigs.get(code, 0) + (count or 0)
        return ObservabilitySummary(_int(summary.get("records_processed")), _int(summary.get("records_passed")),
                                    _int(summary.get("records_failed")), sigs, facet_name)
    return None


def row_count(event: RunEvent, output: DatasetRef) -> int | None:
    stats = as_dict(output.facet("outputStatistics"))
    if "rowCount" in stats:
        return _int(stats["rowCount"])
    return _int(as_dict(event.run.facets.get("outputStatistics")).get("rowCount"))


def processing_type(event: RunEvent | JobEvent) -> str:
    declared = as_dict(event.job.facets.get("jobType")).get("processingType")
    if isinstance(declared, str) and declared:
        return STREAM if declared.upper().startswith("STREAM") else BATCH
    return STREAM if any(d.namespace.startswith("kafka://") for d in event.inputs) else BATCH


def schema_fields(ds: DatasetRef) -> dict[str, str] | None:
    """Field name -> type from the `schema` facet (top-level fields), or None without one."""
    facet = ds.facet("schema")
    if not isinstance(facet, dict) or not isinstance(facet.get("fields"), list):
        return None
    out: dict[str, str] = {}
    for raw in facet["fields"]:
        item = as_dict(raw)
        if isinstance(item.get("name"), str):
            out[item["name"]] = str(item.get("type") or "")
    return out


def column_lineage(ds: DatasetRef) -> list[dict[str, Any]]:
    """`[{name, inputFields: [{namespace, name, field}], transformationDescription?}]`, either spec form."""
    fields = as_dict(ds.facet("columnLineage")).get("fields")
    items: list[tuple[str, dict[str, Any]]] = []
    if isinstance(fields, dict):
        items = [(str(k), as_dict(v)) for k, v in fields.items()]
    elif isinstance(fields, list):
        items = [(str(as_dict(v).get("name", "")), as_dict(v)) for v in fields]
    out: list[dict[str, Any]] = []
    for name, spec in items:
        if not name:
            continue
        inputs = [{k: as_dict(i).get(k) for k in ("namespace", "name", "field")}
                  for i in spec.get("inputFields") or [] if isinstance(i, dict)]
        entry: dict[str, Any] = {"name": name, "inputFields": inputs}
        desc = spec.get("transformationDescription")
        if isinstance(desc, str):
            entry["transformationDescription"] = desc
        out.append(entry)
    return out


def schema_change(before: dict[str, str], after: dict[str, str]) -> dict[str, Any] | None:
    """Fields added, removed and retyped between two schemas, or None if they are the same."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    if not (added or removed or changed):
        return None
    return {"added": added, "removed": removed,
            "type_changed": [{"field": k, "from": before[k], "to": after[k]} for k in changed]}


def assertions(ds: DatasetRef) -> list[Assertion]:
    """The `dataQualityAssertions` facet's assertions (an input dataset facet; read from any facet map)."""
    out: list[Assertion] = []
    for raw in as_dict(ds.facet("dataQualityAssertions")).get("assertions") or []:
        item = as_dict(raw)
        name, success, column = item.get("assertion"), item.get("success"), item.get("column")
        severity = item.get("severity")
        if isinstance(name, str) and name and isinstance(success, bool):
            out.append(Assertion(name, success, column if isinstance(column, str) and column else None,
                                 severity if isinstance(severity, str) else None))
    return out


def quality_metrics(ds: DatasetRef) -> dict[str, Any]:
    """The `dataQualityMetrics` facet as received (rowCount, bytes, fileCount, columnMetrics), minus its
    `_producer`/`_schemaURL`; {} without one."""
    return {k: v for k, v in as_dict(ds.facet("dataQualityMetrics")).items() if not k.startswith("_")}
