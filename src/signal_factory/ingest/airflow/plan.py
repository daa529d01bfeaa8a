"""What one Airflow event changes: graph nodes and edges, and the batch-run totals that tell the signal
engines a dataset was freshly written. Pure: the caller reads the nodes it names first (`keys_to_read`).

Graph (the seed's emit matrix, "Batch (Airflow): DAG -> Task -> Dataset", keyed by `dag_run_id`):
- Job `airflow/<dag_id>` (the DAG) -[HAS_TASK]-> Job `airflow/<dag_id>.<task_id>` (the task, with its last
  run's state, try and time);
- DAGRun `<dag_run_id>` -[EXECUTED]-> JobRun `airflow:<dag_id>:<dag_run_id>:<task_id>` (one per task instance,
  `[i]` appended for a mapped index): state, try number, start, end, duration, error. OpenLineage runs whose
  parent facet names the same `dag_run_id` hang off the same DAGRun node, so the two inflows join there;
- task and task run -[READ_FROM]-> each inlet, -[WROTE_TO]-> each outlet; inlet -[FEEDS {BATCH, job}]-> outlet.
An asset URI that names a control-plane dataset is that dataset; `scheme://authority/path` goes through
lineage.yaml like an OpenLineage dataset (namespace `scheme://authority`, name `path`), so both inflows
name it alike; anything else keeps its URI as the key.

States only move forward: an event older than the one already recorded (by try number, then time, a
terminal state winning a tie) adds lineage but leaves the state; the same (try, state) again is a
duplicate (the plugin's listener and a task callback both report it): it counts once, and only fills in
details the first report lacked (error, duration, end).
A task's first SUCCESS for a try yields one `BatchRunTotals` per control-plane dataset among its outlets:
the DAG's successful runs are the batch dataset's freshness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from signal_factory.graph import model as g
from signal_factory.graph.model import Edge, Node, node_id
from signal_factory.ingest.airflow.model import FAILED, SUCCESS, TASK_INSTANCE, TERMINAL, AirflowEvent, AssetRef
from signal_factory.ingest.openlineage.mapping import DatasetMapping
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.model import BatchRunTotals

NAMESPACE = "airflow"
ENGINE = "airflow"
DAG_KIND = "airflow_dag"
TASK_KIND = "airflow_task"


@dataclass
class AirflowPlan:
    duplicate: bool
    newer: bool
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    totals: list[BatchRunTotals] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)


def dag_job_key(dag_id: str) -> str:
    return f"{NAMESPACE}/{dag_id}"


def task_job_key(dag_id: str, task_id: str) -> str:
    return f"{NAMESPACE}/{dag_id}.{task_id}"


def task_run_key(event: AirflowEvent) -> str:
    mapped = f"[{event.map_index}]" if event.map_index >= 0 else ""
    return f"{ENGINE}:{event.dag_id}:{event.dag_run_id}:{event.task_id}{mapped}"


def dataset_key(asset: AssetRef, known: set[str], mapping: DatasetMapping) -> str:
    if asset.uri in known:
        return asset.uri
    parts = urlsplit(asset.uri)
    if parts.scheme and parts.netloc:
        return mapping.key(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/")
    return asset.uri


def keys_to_read(event: AirflowEvent) -> list[str]:
    """Node ids `plan_event` needs to see (the task run or DAG run it updates)."""
    if event.kind == TASK_INSTANCE:
        assert event.task_id is not None
        return [node_id(g.JOB_RUN, task_run_key(event)), node_id(g.JOB, task_job_key(event.dag_id, event.task_id))]
    return [node_id(g.DAG_RUN, event.dag_run_id)]


def _rank(state: str, try_number: int, at_ms: int) -> tuple[int, int, int]:
    return (try_number, at_ms, 1 if state.lower() in TERMINAL else 0)


def _is_newer(event: AirflowEvent, old: Node | None) -> tuple[bool, bool]:
    """(duplicate, newer) against the state already recorded on `old`."""
    if old is None or "updated_ms" not in old.props:
        return False, True
    props = old.props
    prev_try, prev_state = int(props.get("try_number") or 0), str(props.get("state", "")).lower()
    if prev_try == (event.try_number or 0) and prev_state == event.state:
        return True, False
    newer = _rank(event.state, event.try_number or 0, event.at_ms) >= _rank(
        prev_state, prev_try, int(props.get("updated_ms") or 0))
    return False, newer


def _compact(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


def plan_event(event: AirflowEvent, found: dict[str, Node], mapping: DatasetMapping, catalog: set[str]) -> AirflowPlan:
    """`found`: the nodes `keys_to_read(event)` names that exist; `catalog`: the control-plane dataset URNs."""
    if event.kind != TASK_INSTANCE:
        return _plan_dag_run(event, found)
    return _plan_task(event, found, mapping, catalog)


def _plan_dag_run(event: AirflowEvent, found: dict[str, Node]) -> AirflowPlan:
    dag_job = node_id(g.JOB, dag_job_key(event.dag_id))
    state = event.state.upper()
    duplicate, newer = _is_newer(event, found.get(node_id(g.DAG_RUN, event.dag_run_id)))
    plan = AirflowPlan(duplicate, newer)
    run_props = _compact({"dag_run_id": event.dag_run_id, "dag_id": event.dag_id, "job": dag_job,
                          "engine": ENGINE, "run_type": event.run_type, "logical_date": event.logical_date,
                          "start_time": event.start_date})
    dag_props: dict[str, Any] = {"name": event.dag_id, "namespace": NAMESPACE, "engine": ENGINE, "kind": DAG_KIND}
    if newer:
        run_props.update(_compact({"state": state, "updated_ms": event.at_ms, "updated_at": event.at,
                                   "end_time": event.end_date, "error": event.error}))
        dag_props.update(last_run=event.dag_run_id, last_state=state, last_at=event.at)
    plan.nodes += [Node(g.JOB, dag_job_key(event.dag_id), dag_props),
                   Node(g.DAG_RUN, event.dag_run_id, run_props, _ms(event.start_date))]
    return plan


def _last_ms(node: Node | None) -> int | None:
    at = node.props.get("last_at") if node is not None else None
    return parse_iso_ms(at) if isinstance(at, str) else None


def _plan_task(event: AirflowEvent, found: dict[str, Node], mapping: DatasetMapping, catalog: set[str]) -> AirflowPlan:
    assert event.task_id is not None
    dag_job = node_id(g.JOB, dag_job_key(event.dag_id))
    dag_run = node_id(g.DAG_RUN, event.dag_run_id)
    state = event.state.upper()
    rkey = task_run_key(event)
    rid = node_id(g.JOB_RUN, rkey)
    task_job = node_id(g.JOB, task_job_key(event.dag_id, event.task_id))
    duplicate, newer = _is_newer(event, found.get(rid))
    plan = AirflowPlan(duplicate, newer)
    ins = [dataset_key(a, catalog, mapping) for a in event.inlets]
    outs = [dataset_key(a, catalog, mapping) for a in event.outlets]
    name = f"{event.dag_id}.{event.task_id}"
    run_props = _compact({
        "run_id": rkey, "job_name": name, "job": task_job, "engine": ENGINE, "dag_id": event.dag_id,
        "task_id": event.task_id, "dag_run_id": event.dag_run_id, "operator": event.operator,
        "map_index": event.map_index if event.map_index >= 0 else None, "start_time": event.start_date,
        "inputs": ins, "outputs": outs})
    task_props: dict[str, Any] = _compact({"name": name, "namespace": NAMESPACE, "engine": ENGINE, "kind": TASK_KIND,
                                           "dag_id": event.dag_id, "task_id": event.task_id, "dag": dag_job,
                                           "operator": event.operator})
    if newer:
        run_props.update(_compact({"state": state, "try_number": event.try_number, "updated_ms": event.at_ms,
                                   "updated_at": event.at, "end_time": event.end_date,
                                   "duration_s": event.duration_s, "error": event.error}))
        if event.state != FAILED:
            run_props["error"] = None  # a retry that succeeded clears the previous try's error
        last_ms = _last_ms(found.get(task_job))
        if last_ms is None or event.at_ms >= last_ms:  # a late event of an older DAG run leaves the task's last run
            task_props.update(_compact({"last_run": rkey, "last_dag_run_id": event.dag_run_id, "last_state": state,
                                        "last_try": event.try_number, "last_at": event.at,
                                        "last_duration_s": event.duration_s}))
            task_props["last_error"] = event.error if event.state == FAILED else None
    elif duplicate:  # the second report of a state fills what the first lacked (a callback may not see the error)
        known = found[rid].props
        fill = {k: v for k, v in (("error", event.error), ("duration_s", event.duration_s),
                                  ("end_time", event.end_date)) if v is not None and known.get(k) is None}
        run_props.update(fill)
        last = found.get(task_job)
        if "error" in fill and last is not None and last.props.get("last_run") == rkey:
            task_props["last_error"] = fill["error"]
    plan.nodes += [
        Node(g.JOB, dag_job_key(event.dag_id), {"name": event.dag_id, "namespace": NAMESPACE, "engine": ENGINE,
                                                "kind": DAG_KIND}),
        Node(g.JOB, task_job_key(event.dag_id, event.task_id), task_props),
        Node(g.DAG_RUN, event.dag_run_id, {"dag_run_id": event.dag_run_id, "dag_id": event.dag_id, "job": dag_job,
                                           "engine": ENGINE}),
        Node(g.JOB_RUN, rkey, run_props, _ms(event.start_date) or event.at_ms)]
    plan.edges += [Edge(dag_job, g.HAS_TASK, task_job), Edge(dag_run, g.EXECUTED, rid)]
    for asset, key in [*zip(event.inlets, ins, strict=True), *zip(event.outlets, outs, strict=True)]:
        props: dict[str, Any] = {"airflow_uri": asset.uri}
        if key not in catalog:
            props.update(name=asset.name or asset.uri, source="airflow")
        plan.nodes.append(Node(g.DATASET, key, props))
    for key in ins:
        did = node_id(g.DATASET, key)
        plan.edges += [Edge(task_job, g.READ_FROM, did), Edge(rid, g.READ_FROM, did)]
    for key in outs:
        did = node_id(g.DATASET, key)
        plan.edges += [Edge(task_job, g.WROTE_TO, did), Edge(rid, g.WROTE_TO, did)]
        plan.edges += [Edge(node_id(g.DATASET, src), g.FEEDS, did, {"type": "BATCH", "job": name})
                       for src in ins if src != key]
    plan.datasets = sorted({*ins, *outs})
    if event.state == SUCCESS and newer and not duplicate:
        plan.totals += _totals(event, rkey, name, outs, ins, catalog)
    return plan


def _totals(event: AirflowEvent, rkey: str, name: str, outs: list[str], ins: list[str],
            catalog: set[str]) -> list[BatchRunTotals]:
    ended = event.end_date or event.at
    started = event.start_date or ended
    upstream = next((i for i in ins if i in catalog), None)
    ctx = {"job_namespace": NAMESPACE, "dag_id": event.dag_id, "dag_run_id": event.dag_run_id,
           "task_id": event.task_id, "engine": ENGINE}
    return [BatchRunTotals(dataset_urn=urn, run_id=rkey, job_name=name, started_at=started, ended_at=ended,
                           duration_s=event.duration_s, batch_context=dict(ctx), upstream_dataset=upstream)
            for urn in dict.fromkeys(outs) if urn in catalog]


def _ms(text: str | None) -> int | None:
    return parse_iso_ms(text) if text else None
