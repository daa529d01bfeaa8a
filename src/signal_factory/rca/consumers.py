"""Airflow DAGs in the blast radius: a DAG whose task reads (declares as an inlet) a dataset at or
downstream of the failure is hurt too, and its task runs say how (seed Scenario 1: `finance_daily_snapshot
(Airflow DAG) - FAILED`).

One edge query (READ_FROM into the datasets already reached) and one node fetch: the task Job nodes
written by the Airflow ingest carry their last run's state, so no run history is walked. A DAG's status
is FAILED when any of its reading tasks last failed, else RUNNING when one runs, else SUCCESS. A DAG the
control plane lists (`type: airflow_dag`, `name: <dag_id>`) takes that dataset's URN and tier; if the
FEEDS walk already reached it, that row gets the status instead of a second row.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.graph.model import DATASET, JOB, READ_FROM, node_id, split_id
from signal_factory.graph.ports import GraphStore
from signal_factory.ingest.airflow.plan import ENGINE, TASK_KIND, dag_job_key
from signal_factory.rca.lookups import as_str
from signal_factory.rca.report import BlastItem

DAG_TYPE = "Airflow DAG"
_ORDER = {"FAILED": 0, "RUNNING": 1, "SUCCESS": 2}


def _catalog_dags(catalog: Mapping[str, DatasetSpec] | None) -> dict[str, DatasetSpec]:
    return {spec.name: spec for spec in (catalog or {}).values()
            if spec.name and (spec.type or "").lower() in ("airflow_dag", "airflow dag")}


def airflow_consumers(graph: GraphStore, hops: Mapping[str, int], items: list[BlastItem],
                      catalog: Mapping[str, DatasetSpec] | None = None) -> list[BlastItem]:
    """`items` with the status of the Airflow DAGs reading any dataset in `hops` (URN -> hops from the failure)
    set on their rows, or appended as rows of their own (type "Airflow DAG", via READ_FROM)."""
    if not hops:
        return items
    edges = graph.edges_from([node_id(DATASET, u) for u in sorted(hops)], [READ_FROM], "in")
    reads: dict[str, set[str]] = {}
    for e in edges:
        if split_id(e.src)[0] == JOB:
            reads.setdefault(e.src, set()).add(split_id(e.dst)[1])
    tasks = [n for n in graph.nodes_by_id(sorted(reads)).values()
             if n.props.get("engine") == ENGINE and n.props.get("kind") == TASK_KIND and n.props.get("last_state")]
    by_dag: dict[str, list[tuple[str, dict[str, object], set[str]]]] = {}
    for t in tasks:
        dag = as_str(t.props.get("dag_id"))
        if dag:
            by_dag.setdefault(dag, []).append((as_str(t.props.get("task_id")) or t.key, t.props, reads[t.id]))
    known = _catalog_dags(catalog)
    rows = {b.urn: i for i, b in enumerate(items)}
    out = list(items)
    for dag, found in sorted(by_dag.items()):
        found.sort(key=lambda x: (_ORDER.get(str(x[1].get("last_state")), 3), x[0]))
        task, props, read = found[0]
        status = str(props.get("last_state"))
        impact = _impact(task, props, sorted(read))
        spec = known.get(dag)
        if spec is not None and spec.urn in rows:
            i = rows[spec.urn]
            out[i] = msgspec.structs.replace(out[i], status=status, impact=impact, job=f"{dag}.{task}")
            continue
        out.append(BlastItem(urn=spec.urn if spec else dag_job_key(dag), name=dag, tier=spec.tier if spec else None,
                             type=DAG_TYPE, hops=min(hops[u] for u in read) + 1, via=READ_FROM, job=f"{dag}.{task}",
                             impact=impact, status=status))
    return out


def _impact(task: str, props: Mapping[str, object], read: list[str]) -> str:
    state = str(props.get("last_state"))
    when = as_str(props.get("last_at"))
    tried = props.get("last_try")
    what = f"task {task} {state.lower()}" + (f" at {when}" if when else "") + (f" (try {tried})" if tried else "")
    error = as_str(props.get("last_error")) if state == "FAILED" else None
    return f"{what}{f': {error}' if error else ''}; reads {', '.join(read)}"
