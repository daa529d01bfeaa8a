"""What one RunEvent changes: graph nodes and edges, the run's new record, and the batch-run totals for
the signal engines. Pure: the caller reads the previous run record and the known output schemas first.

Graph (node kinds and edges from `graph/model.py`):
- Job `<namespace>/<name>` and JobRun `<runId>` (state = the run's latest event type);
- parent run facet -> DAGRun `<parent runId>` -[EXECUTED]-> JobRun;
- inputs -> JobRun -[READ_FROM]-> Dataset; outputs -> JobRun -[WROTE_TO]-> Dataset (with `column_lineage`);
- every (input, output) pair -> Dataset -[FEEDS {type: BATCH|STREAM, job}]-> Dataset.
Every event type adds lineage, so a streaming job that only ever sends START/RUNNING is in the graph.

Schema drift is recorded, not signalled: when an output's `schema` facet differs from the schema the
previous run of any job wrote there, the change (fields added, removed, retyped) goes on the run record
(`schema_changes`) and on the dataset node (`last_schema_change`).

Batch totals: a COMPLETE event yields one `BatchRunTotals` for its primary output (the first output
mapped to a control-plane URN, else the first output) with the observability facet's counts, the output
row count and the run duration (from the run's START). FAIL/ABORT update the run record and graph only.

Data quality: the `dataQualityAssertions`/`dataQualityMetrics` facets of an input or output become one
`DatasetChecks` per dataset (signals/checks.py), judged on the events that carry results (not START or
RUNNING, which may repeat them).

Facets: the run record keeps every run facet as received (latest per name), the job's facets, the
`errorMessage` facet of a failed run, and the input/output facets of each dataset it read or wrote.

DatasetEvent and JobEvent (`plan_static`): no run, so no run record and no totals; a Dataset node (with
its `schema` fields), and for a JobEvent the Job node and the FEEDS edges between its declared inputs
and outputs, as a run of the job would draw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signal_factory.graph import model as g
from signal_factory.graph.model import Edge, Node, node_id
from signal_factory.ingest.openlineage import facets as f
from signal_factory.ingest.openlineage.mapping import DatasetMapping
from signal_factory.ingest.openlineage.model import (
    COMPLETE,
    RUNNING,
    START,
    TERMINAL,
    DatasetEvent,
    DatasetRef,
    JobEvent,
    RunEvent,
)
from signal_factory.ingest.openlineage.runs import later
from signal_factory.model.lineage import EventEntry, Facets, RunDataset, RunRecord
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.model import BatchRunTotals, DatasetChecks


@dataclass
class KnownSchema:
    fields: dict[str, str]
    run_id: str | None


@dataclass
class Plan:
    record: RunRecord
    entry: EventEntry
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    totals: list[BatchRunTotals] = field(default_factory=list)
    checks: list[DatasetChecks] = field(default_factory=list)
    schema_changes: list[dict[str, Any]] = field(default_factory=list)


def output_keys(event: RunEvent | JobEvent | DatasetEvent, mapping: DatasetMapping) -> list[str]:
    if isinstance(event, DatasetEvent):
        return [mapping.key(event.dataset.namespace, event.dataset.name)]
    return [mapping.key(d.namespace, d.name) for d in event.outputs]


def plan_static(event: DatasetEvent | JobEvent, mapping: DatasetMapping,
                schemas: dict[str, KnownSchema]) -> tuple[list[Node], list[Edge]]:
    """The graph changes of a DatasetEvent or JobEvent (no run: no JobRun, no totals)."""
    if isinstance(event, DatasetEvent):
        ds = event.dataset
        key = mapping.key(ds.namespace, ds.name)
        node = _dataset_node(ds.namespace, ds.name, key, mapping)
        fields = f.schema_fields(ds)
        if fields is not None:
            node.props["schema_fields"] = fields
        return [node], []
    job = event.job
    ptype = f.processing_type(event)
    job_key = f"{job.namespace}/{job.name}"
    nodes = [Node(g.JOB, job_key, {"name": job.name, "namespace": job.namespace, "processing_type": ptype})]
    ins = [mapping.key(d.namespace, d.name) for d in event.inputs]
    nodes += [_dataset_node(d.namespace, d.name, k, mapping) for d, k in zip(event.inputs, ins, strict=True)]
    edges: list[Edge] = []
    for ds, key in zip(event.outputs, output_keys(event, mapping), strict=True):
        nodes.append(_dataset_node(ds.namespace, ds.name, key, mapping))
        edges += [Edge(node_id(g.DATASET, src), g.FEEDS, node_id(g.DATASET, key), {"type": ptype, "job": job.name})
                  for src in ins if src != key]
    return nodes, edges


def plan_event(event: RunEvent, prev: RunRecord | None, mapping: DatasetMapping,
               schemas: dict[str, KnownSchema]) -> Plan:
    run_id, job = event.run_id, event.job
    entry = EventEntry(event.eventType, event.eventTime, event.time_ms)
    parent = f.parent(event)
    ptype = f.processing_type(event)
    ins = [mapping.key(d.namespace, d.name) for d in event.inputs]
    outs = output_keys(event, mapping)
    record = _record(event, prev, entry, parent, ptype, ins, outs)
    plan = Plan(record, entry)
    job_key = f"{job.namespace}/{job.name}"
    rid = node_id(g.JOB_RUN, run_id)
    plan.nodes += [
        Node(g.JOB, job_key, {"name": job.name, "namespace": job.namespace, "processing_type": ptype,
                              "last_run": run_id}),
        Node(g.JOB_RUN, run_id, _compact({
            "run_id": run_id, "job_name": job.name, "job": node_id(g.JOB, job_key), "state": record.state,
            "processing_type": ptype, "start_time": record.started_at, "end_time": record.ended_at,
            "last_event_time": record.updated_at, "parent_run_id": record.parent_run_id}),
            _ms_of(record.started_at) or entry.event_ms)]
    if parent is not None:
        plan.nodes.append(Node(g.DAG_RUN, parent.run_id, _compact({
            "dag_run_id": parent.run_id, "dag_id": parent.job_name, "job_namespace": parent.job_namespace})))
        plan.edges.append(Edge(node_id(g.DAG_RUN, parent.run_id), g.EXECUTED, rid))
    for ds, key in zip(event.inputs, ins, strict=True):
        plan.nodes.append(_dataset_node(ds.namespace, ds.name, key, mapping))
        plan.edges.append(Edge(rid, g.READ_FROM, node_id(g.DATASET, key)))
    for ds, key in zip(event.outputs, outs, strict=True):
        node = _dataset_node(ds.namespace, ds.name, key, mapping)
        lineage = f.column_lineage(ds)
        props: dict[str, Any] = {"column_lineage": lineage} if lineage else {}
        if lineage:
            node.props["column_lineage"] = lineage
        fields = f.schema_fields(ds)
        if fields is not None:
            _schema(plan, node, key, fields, schemas.get(key), event)
        plan.nodes.append(node)
        plan.edges.append(Edge(rid, g.WROTE_TO, node_id(g.DATASET, key), props))
        plan.edges += [Edge(node_id(g.DATASET, src), g.FEEDS, node_id(g.DATASET, key), {"type": ptype, "job": job.name})
                       for src in ins if src != key]
    record.schema_changes = [*(prev.schema_changes if prev else []), *plan.schema_changes]
    judged = [] if event.eventType in (START, RUNNING) else [*zip(event.inputs, ins, strict=True),
                                                                *zip(event.outputs, outs, strict=True)]
    for ds, key in judged:  # results are judged once the run has them: COMPLETE, FAIL, ABORT, OTHER
        checks = _checks(event, record, parent, ds, key)
        if checks is not None:
            plan.checks.append(checks)
    if event.eventType == COMPLETE and event.outputs:
        plan.totals.append(_totals(event, record, parent, ptype, mapping))
        record.totals = {k: v for k, v in _totals_view(plan.totals[0]).items() if v is not None}
    return plan


def _record(event: RunEvent, prev: RunRecord | None, entry: EventEntry, parent: f.Parent | None, ptype: str,
            ins: list[str], outs: list[str]) -> RunRecord:
    events = sorted([*(prev.events if prev else []), entry], key=lambda e: e.event_ms)
    current = None
    if prev is not None:
        current = EventEntry(prev.state, prev.updated_at, prev.updated_ms)
    newest = entry if later(entry, current) else current
    assert newest is not None
    started = prev.started_at if prev else None
    if event.eventType == START or started is None:
        first = min((e for e in events if e.event_type == START), key=lambda e: e.event_ms, default=events[0])
        started = first.event_time
    ended = event.eventTime if event.eventType in TERMINAL else (prev.ended_at if prev else None)
    record = RunRecord(
        run_id=event.run_id, job_namespace=event.job.namespace, job_name=event.job.name, state=newest.event_type,
        processing_type=ptype, started_at=started, ended_at=ended, updated_at=newest.event_time,
        updated_ms=newest.event_ms,
        parent_run_id=parent.run_id if parent else (prev.parent_run_id if prev else None),
        parent_job=(f"{parent.job_namespace}/{parent.job_name}" if parent and parent.job_name
                    else (prev.parent_job if prev else None)),
        inputs=list(dict.fromkeys([*(prev.inputs if prev else []), *ins])),
        outputs=list(dict.fromkeys([*(prev.outputs if prev else []), *outs])),
        events=events, totals=prev.totals if prev else None,
        facets=prev.facets if prev else Facets(), job_facets=dict(prev.job_facets) if prev else {},
        error=prev.error if prev else None,
        input_versions=_versions(prev.input_versions if prev else [], event.inputs, "inputFacets"),
        output_versions=_versions(prev.output_versions if prev else [], event.outputs, "outputFacets"))
    record.facets.merge(event.run.facets, entry.event_ms)
    if later(entry, current):
        record.job_facets.update(event.job.facets)
    error = event.run.facets.get("errorMessage")
    if isinstance(error, dict) and later(entry, current):
        record.error = error
    return record


def _versions(prev: list[RunDataset], datasets: list[DatasetRef], side: str) -> list[RunDataset]:
    """The run's datasets on one side, each with the facets its latest event gave it (input or output)."""
    out = {(d.namespace, d.name): d for d in prev}
    for ds in datasets:
        facets = getattr(ds, side)
        kept = out.get((ds.namespace, ds.name))
        out[(ds.namespace, ds.name)] = RunDataset(ds.namespace, ds.name, {**(kept.facets if kept else {}), **facets})
    return list(out.values())


def _dataset_node(namespace: str, name: str, key: str, mapping: DatasetMapping) -> Node:
    props: dict[str, Any] = {"ol_namespace": namespace, "ol_name": name}
    if mapping.resolve(namespace, name) is None:
        props.update(name=f"{namespace.rstrip('/')}/{name.lstrip('/')}", source="openlineage")
    return Node(g.DATASET, key, props)


def _schema(plan: Plan, node: Node, key: str, fields: dict[str, str], known: KnownSchema | None,
            event: RunEvent) -> None:
    node.props.update(schema_fields=fields, schema_run_id=event.run_id)
    if known is None or known.run_id == event.run_id:
        return
    change = f.schema_change(known.fields, fields)
    if change is None:
        return
    change = {"dataset": key, "run_id": event.run_id, "previous_run_id": known.run_id, "at": event.eventTime,
              **change}
    node.props["last_schema_change"] = change
    plan.schema_changes.append(change)


def _totals(event: RunEvent, record: RunRecord, parent: f.Parent | None, ptype: str,
            mapping: DatasetMapping) -> BatchRunTotals:
    primary = next((d for d in event.outputs if mapping.resolve(d.namespace, d.name)), event.outputs[0])
    obs = f.observability(event)
    started = record.started_at or event.eventTime
    start_ms, end_ms = _ms_of(started), event.time_ms
    ctx: dict[str, Any] = {"job_namespace": event.job.namespace, "processing_type": ptype}
    if parent is not None:
        ctx.update(_compact({"dag_id": parent.job_name, "dag_run_id": parent.run_id}))
    integration = f.as_dict(event.job.facets.get("jobType")).get("integration")
    if event.job.namespace == "spark" or integration == "SPARK":
        ctx["spark_run_id"] = event.run_id
    upstream = next((u for d in event.inputs if (u := mapping.resolve(d.namespace, d.name))), None)
    return BatchRunTotals(
        dataset_urn=mapping.key(primary.namespace, primary.name), run_id=event.run_id, job_name=event.job.name,
        started_at=started, ended_at=event.eventTime,
        records_processed=obs.records_processed if obs else None,
        records_passed=obs.records_passed if obs else None,
        records_failed=obs.records_failed if obs else None,
        failure_signatures=dict(obs.failure_signatures) if obs else {},
        output_rows=f.row_count(event, primary),
        duration_s=(end_ms - start_ms) / 1000 if start_ms is not None and end_ms >= start_ms else None,
        batch_context=ctx, upstream_dataset=upstream)


def _checks(event: RunEvent, record: RunRecord, parent: f.Parent | None, ds: DatasetRef,
            key: str) -> DatasetChecks | None:
    """The run's data-quality facets about one dataset, if it sent any."""
    found, metrics = f.assertions(ds), f.quality_metrics(ds)
    if not found and not metrics:
        return None
    ctx: dict[str, Any] = {"job_namespace": event.job.namespace, "job_name": event.job.name, "run_id": event.run_id}
    if parent is not None:
        ctx.update(_compact({"dag_id": parent.job_name, "dag_run_id": parent.run_id}))
    return DatasetChecks(dataset_urn=key, run_id=event.run_id, job_name=event.job.name,
                         started_at=record.started_at or event.eventTime, ended_at=event.eventTime,
                         assertions=found, metrics=metrics, batch_context=ctx)


def _totals_view(t: BatchRunTotals) -> dict[str, Any]:
    return {"dataset_urn": t.dataset_urn, "records_processed": t.records_processed,
            "records_passed": t.records_passed, "records_failed": t.records_failed,
            "failure_signatures": t.failure_signatures or None, "output_rows": t.output_rows,
            "duration_s": t.duration_s}


def _ms_of(text: str | None) -> int | None:
    return parse_iso_ms(text) if text else None


def _compact(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}

