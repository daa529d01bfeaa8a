"""`LineageIngest`: one OpenLineage event -> run store, catalog, causal graph and signal engines, in one
transaction.

Used by the HTTP route (`POST /api/v1/lineage`) and the CLI (`signal-factory lineage ingest`). A RunEvent
already stored (same runId, eventType and eventTime), or a DatasetEvent/JobEvent already stored (same
dataset/job and eventTime), is acknowledged and skipped, so replaying a file or a client retry never
double counts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.graph import model as g
from signal_factory.graph.model import node_id
from signal_factory.ingest.openlineage import facets as f
from signal_factory.ingest.openlineage.catalog import (
    DATASET_EVENT,
    JOB_EVENT,
    CatalogRepo,
    apply_dataset,
    apply_job,
    catalog_repo,
)
from signal_factory.ingest.openlineage.mapping import DatasetMapping
from signal_factory.ingest.openlineage.model import (
    COMPLETE,
    DatasetEvent,
    DatasetRef,
    Event,
    JobEvent,
    RunEvent,
    encode_event,
)
from signal_factory.ingest.openlineage.plan import KnownSchema, output_keys, plan_event, plan_static
from signal_factory.ingest.openlineage.runs import RunRepo, run_repo
from signal_factory.model.lineage import DatasetId
from signal_factory.runtime.replay import ReplayService


class LineageResult(msgspec.Struct, omit_defaults=True, kw_only=True):
    kind: str = "RunEvent"
    run_id: str = ""
    event_type: str = ""
    state: str = ""
    job: str | None = None  # namespace/name of a JobEvent's job
    dataset: str | None = None  # the graph key of a DatasetEvent's dataset
    duplicate: bool = False
    datasets: list[str] = msgspec.field(default_factory=list)
    signals: list[str] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)
    schema_changes: list[dict[str, Any]] = msgspec.field(default_factory=list)


class LineageIngest:
    def __init__(self, replay: ReplayService, mapping: DatasetMapping, runs: RunRepo | None = None,
                 catalog: CatalogRepo | None = None) -> None:
        self.replay = replay
        self.mapping = mapping
        self.runs = runs if runs is not None else run_repo(replay.store)
        self.catalog = catalog if catalog is not None else catalog_repo(replay.store)

    def ingest(self, event: Event) -> LineageResult:
        if isinstance(event, RunEvent):
            return self._run_event(event)
        return self._static_event(event)

    def _known_schemas(self, keys: list[str]) -> dict[str, KnownSchema]:
        found = self.replay.store.graph.nodes_by_id([node_id(g.DATASET, k) for k in keys])
        schemas = {}
        for key in keys:
            node = found.get(node_id(g.DATASET, key))
            fields = node.props.get("schema_fields") if node is not None else None
            if node is not None and isinstance(fields, dict):
                schemas[key] = KnownSchema({str(k): str(v) for k, v in fields.items()}, node.props.get("schema_run_id"))
        return schemas

    def _run_event(self, event: RunEvent) -> LineageResult:
        if self.runs.has_event(event.run_id, event.eventType, event.eventTime):
            prev = self.runs.get(event.run_id)
            return LineageResult(run_id=event.run_id, event_type=event.eventType,
                                 state=prev.state if prev else event.eventType, duplicate=True)
        plan = plan_event(event, self.runs.get(event.run_id), self.mapping,
                          self._known_schemas(output_keys(event, self.mapping)))
        graph = self.replay.store.graph

        def write() -> None:
            graph.merge_nodes(plan.nodes)
            graph.merge_edges(plan.edges)
            self.runs.add_event(plan.record, plan.entry, encode_event(event))
            parent = f.parent(event)
            self._catalog_job(event, run_id=event.run_id, parent_job=parent.job_name if parent else None)
            written_by = event.run_id if event.eventType == COMPLETE else None
            self._catalog_datasets(event, event.inputs, "input")
            self._catalog_datasets(event, event.outputs, "output", written_by)

        report = self.replay.ingest_run(plan.totals, write=write, checks=plan.checks)
        return LineageResult(
            run_id=event.run_id, event_type=event.eventType, state=plan.record.state,
            datasets=sorted({n.key for n in plan.nodes if n.kind == g.DATASET}),
            signals=[s.signal_id for s in report.signals],
            incidents=list(dict.fromkeys(c.incident.incident_id for c in report.changes)),
            schema_changes=plan.schema_changes)

    def _static_event(self, event: DatasetEvent | JobEvent) -> LineageResult:
        if isinstance(event, DatasetEvent):
            kind, ns, name = DATASET_EVENT, event.dataset.namespace, event.dataset.name
            result = LineageResult(kind=kind, dataset=self.mapping.key(ns, name))
        else:
            kind, ns, name = JOB_EVENT, event.job.namespace, event.job.name
            result = LineageResult(kind=kind, job=f"{ns}/{name}")
        nodes, edges = plan_static(event, self.mapping, self._known_schemas(output_keys(event, self.mapping)))
        result.datasets = sorted({n.key for n in nodes if n.kind == g.DATASET})
        graph = self.replay.store.graph

        def write() -> None:
            if not self.catalog.add_static_event(kind, ns, name, event.eventTime, event.time_ms, encode_event(event)):
                result.duplicate = True
                return
            graph.merge_nodes(nodes)
            graph.merge_edges(edges)
            if isinstance(event, DatasetEvent):
                self._catalog_datasets(event, [event.dataset], None)
            else:
                self._catalog_job(event)
                self._catalog_datasets(event, event.inputs, "input")
                self._catalog_datasets(event, event.outputs, "output")

        self.replay.ingest_run([], write=write)
        return result

    def _catalog_job(self, event: RunEvent | JobEvent, *, run_id: str | None = None,
                     parent_job: str | None = None) -> None:
        job = event.job
        entry = apply_job(self.catalog.get_job(job.namespace, job.name), job.namespace, job.name, job.facets,
                          event.eventTime, event.time_ms, job_type=f.processing_type(event),
                          inputs=[DatasetId(d.namespace, d.name) for d in event.inputs],
                          outputs=[DatasetId(d.namespace, d.name) for d in event.outputs],
                          run_id=run_id, parent_job=parent_job)
        self.catalog.put_job(entry)

    def _catalog_datasets(self, event: Event, datasets: list[DatasetRef], side: str | None,
                          written_by: str | None = None) -> None:
        for ds in datasets:
            entry = apply_dataset(
                self.catalog.get_dataset(ds.namespace, ds.name), ds.namespace, ds.name,
                self.mapping.key(ds.namespace, ds.name), event.eventTime, event.time_ms, facets=ds.facets,
                input_facets=ds.inputFacets if side == "input" else None,
                output_facets=ds.outputFacets if side == "output" else None,
                written_by=written_by if side == "output" else None)
            self.catalog.put_dataset(entry)
