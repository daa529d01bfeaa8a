"""`AirflowIngest`: one Airflow event -> causal graph and (for a task's successful write of a catalog
dataset) the signal engines, in one transaction. Used by `POST /api/v1/airflow/events`; `dag_run_view`
answers `GET /api/v1/airflow/runs/{dag_run_id}` (the DAG run, its tasks, and the OpenLineage runs of the
same `dag_run_id`)."""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.graph import model as g
from signal_factory.graph.model import node_id
from signal_factory.graph.ports import GraphStore
from signal_factory.ingest.airflow.model import AirflowEvent
from signal_factory.ingest.airflow.plan import ENGINE, keys_to_read, plan_event, task_run_key
from signal_factory.ingest.openlineage.mapping import DatasetMapping
from signal_factory.ingest.openlineage.runs import RunRepo
from signal_factory.runtime.replay import ReplayService


class AirflowResult(msgspec.Struct, kw_only=True):
    kind: str
    dag_run_id: str
    state: str
    task_id: str | None = None
    run_id: str | None = None
    duplicate: bool = False
    stale: bool = False  # older than the state already recorded: lineage kept, state left
    datasets: list[str] = msgspec.field(default_factory=list)
    signals: list[str] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)


class AirflowIngest:
    def __init__(self, replay: ReplayService, mapping: DatasetMapping) -> None:
        self.replay = replay
        self.mapping = mapping
        self.catalog = set(replay.cp.datasets)

    def ingest(self, event: AirflowEvent) -> AirflowResult:
        graph = self.replay.store.graph
        plan = plan_event(event, graph.nodes_by_id(keys_to_read(event)), self.mapping, self.catalog)

        def write() -> None:
            graph.merge_nodes(plan.nodes)
            graph.merge_edges(plan.edges)

        report = self.replay.ingest_run(plan.totals, write=write)
        return AirflowResult(
            kind=event.kind, dag_run_id=event.dag_run_id, state=event.state, task_id=event.task_id,
            run_id=task_run_key(event) if event.task_id else None, duplicate=plan.duplicate,
            stale=not plan.newer and not plan.duplicate, datasets=plan.datasets,
            signals=[s.signal_id for s in report.signals],
            incidents=list(dict.fromkeys(c.incident.incident_id for c in report.changes)))


def dag_run_view(graph: GraphStore, runs: RunRepo, dag_run_id: str) -> dict[str, Any] | None:
    """The DAGRun node's props, its Airflow task runs, and the other runs (OpenLineage) it EXECUTED."""
    dag_run = graph.node(node_id(g.DAG_RUN, dag_run_id))
    if dag_run is None:
        return None
    executed = sorted({e.dst for e in graph.edges_from([dag_run.id], [g.EXECUTED], "out")})
    nodes = graph.nodes_by_id(executed)
    tasks, lineage = [], []
    for nid in executed:
        node = nodes.get(nid)
        if node is None:
            continue
        if node.props.get("engine") == ENGINE:
            tasks.append(node.props)
            continue
        record = runs.get(node.key)
        lineage.append({**node.props, **({"state": record.state} if record is not None else {})})
    return {"dag_run": dag_run.props, "tasks": sorted(tasks, key=lambda t: str(t.get("start_time") or "")),
            "openlineage_runs": lineage}
