"""`LineageIngest`: one RunEvent -> run store, causal graph and signal engines, in one transaction.

Used by the HTTP route (`POST /api/v1/lineage`) and the CLI (`signal-factory lineage ingest`). An
event already stored (same runId, eventType and eventTime) is acknowledged and skipped, so replaying
a file or a client retry never double counts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.graph import model as g
from signal_factory.graph.model import node_id
from signal_factory.ingest.openlineage.mapping import DatasetMapping
from signal_factory.ingest.openlineage.model import RunEvent, encode_event
from signal_factory.ingest.openlineage.plan import KnownSchema, output_keys, plan_event
from signal_factory.ingest.openlineage.runs import RunRepo, run_repo
from signal_factory.runtime.replay import ReplayService


class LineageResult(msgspec.Struct, omit_defaults=True, kw_only=True):
    run_id: str
    event_type: str
    state: str
    duplicate: bool = False
    datasets: list[str] = msgspec.field(default_factory=list)
    signals: list[str] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)
    schema_changes: list[dict[str, Any]] = msgspec.field(default_factory=list)


class LineageIngest:
    def __init__(self, replay: ReplayService, mapping: DatasetMapping, runs: RunRepo | None = None) -> None:
        self.replay = replay
        self.mapping = mapping
        self.runs = runs if runs is not None else run_repo(replay.store)

    def ingest(self, event: RunEvent) -> LineageResult:
        if self.runs.has_event(event.run_id, event.eventType, event.eventTime):
            prev = self.runs.get(event.run_id)
            return LineageResult(run_id=event.run_id, event_type=event.eventType,
                                 state=prev.state if prev else event.eventType, duplicate=True)
        graph = self.replay.store.graph
        keys = output_keys(event, self.mapping)
        found = graph.nodes_by_id([node_id(g.DATASET, k) for k in keys])
        schemas = {}
        for key in keys:
            node = found.get(node_id(g.DATASET, key))
            fields = node.props.get("schema_fields") if node is not None else None
            if isinstance(fields, dict):
                schemas[key] = KnownSchema({str(k): str(v) for k, v in fields.items()}, node.props.get("schema_run_id")
                                           if node is not None else None)
        plan = plan_event(event, self.runs.get(event.run_id), self.mapping, schemas)

        def write() -> None:
            graph.merge_nodes(plan.nodes)
            graph.merge_edges(plan.edges)
            self.runs.add_event(plan.record, plan.entry, encode_event(event))

        report = self.replay.ingest_run(plan.totals, write=write)
        return LineageResult(
            run_id=event.run_id, event_type=event.eventType, state=plan.record.state,
            datasets=sorted({n.key for n in plan.nodes if n.kind == g.DATASET}),
            signals=[s.signal_id for s in report.signals],
            incidents=list(dict.fromkeys(c.incident.incident_id for c in report.changes)),
            schema_changes=plan.schema_changes)
