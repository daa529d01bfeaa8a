"""Marquez-shaped views of the lineage catalog and runs (Marquez's `spec/openapi.yml` and its
`marquez.service.models`: Namespace, Job, Run, Dataset, the lineage graph's Node/JobData/DatasetData,
SearchResult). Pure: catalog entries and run records in, JSON-ready dicts out.

Where we differ from Marquez (and say so in docs/lineage.md):
- no versioning: `currentVersion`, `jobVersion.version` and dataset `version` are UUIDv5 names derived
  from the job/dataset and its latest run, stable across reads, not Marquez's content hashes;
- namespaces are the ones events named; `ownerName` is `anonymous` as Marquez gives namespaces that
  OpenLineage events create;
- every dataset is `DB_TABLE` (Marquez's type for OpenLineage datasets) and its `sourceName` is the
  `datasource` facet's name, else the namespace;
- our extensions, which Marquez clients ignore: a dataset's latest `inputFacets`/`outputFacets` and its
  graph key `urn` (the control-plane URN when lineage.yaml maps it).
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from signal_factory.ingest.openlineage.model import ABORT, COMPLETE, FAIL, OTHER, RUNNING, START
from signal_factory.model.lineage import DatasetEntry, DatasetId, JobEntry, RunDataset, RunRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms

OWNER = "anonymous"
DATASET, JOB = "DATASET", "JOB"
_RUN_STATE = {START: "RUNNING", RUNNING: "RUNNING", COMPLETE: "COMPLETED", FAIL: "FAILED", ABORT: "ABORTED"}
_NS = uuid.UUID("6f1c2a52-5d2e-4f0e-9a57-9b1f0d6c1a10")


def ts(text: str | None) -> str | None:
    """An event time as Marquez writes instants (ISO-8601, UTC, `Z`)."""
    if text is None:
        return None
    ms = parse_iso_ms(text)
    return iso_ms(ms) if ms is not None else text


def version(*parts: str | None) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(p or "" for p in parts)))


def dataset_node_id(namespace: str, name: str) -> str:
    return f"dataset:{namespace}:{name}"


def job_node_id(namespace: str, name: str) -> str:
    return f"job:{namespace}:{name}"


def _facet(facets: dict[str, Any], name: str, key: str) -> Any:
    value = facets.get(name)
    return value.get(key) if isinstance(value, dict) else None


# -- namespaces -------------------------------------------------------------------------------------


def namespaces(jobs: Iterable[JobEntry], datasets: Iterable[DatasetEntry]) -> list[dict[str, Any]]:
    seen: dict[str, tuple[str, str, int]] = {}  # name -> (created, updated, updated_ms)
    entries: list[JobEntry | DatasetEntry] = [*jobs, *datasets]
    for e in entries:
        created, updated, ms = seen.get(e.namespace, (e.created_at, e.updated_at, e.updated_ms))
        seen[e.namespace] = (min(created, e.created_at), *((e.updated_at, e.updated_ms) if e.updated_ms >= ms
                                                           else (updated, ms)))
    return [{"name": name, "createdAt": ts(c), "updatedAt": ts(u), "ownerName": OWNER, "description": None,
             "isHidden": False} for name, (c, u, _) in sorted(seen.items())]


# -- runs -------------------------------------------------------------------------------------------


def run_state(record: RunRecord) -> str:
    """Marquez's run state: the latest state transition (OTHER events change nothing); NEW before any."""
    for entry in sorted(record.events, key=lambda e: e.event_ms, reverse=True):
        if entry.event_type != OTHER:
            return _RUN_STATE.get(entry.event_type, "RUNNING")
    return "NEW"


def run(record: RunRecord) -> dict[str, Any]:
    facets = record.facets.facets
    started, ended = ts(record.started_at), ts(record.ended_at)
    start_ms, end_ms = parse_iso_ms(record.started_at or ""), parse_iso_ms(record.ended_at or "")
    state = run_state(record)
    if state in ("RUNNING", "NEW"):
        ended = None
    duration = end_ms - start_ms if ended and start_ms is not None and end_ms is not None else None
    created = min((e.event_time for e in record.events), default=record.updated_at)
    return {
        "id": record.run_id, "createdAt": ts(created), "updatedAt": ts(record.updated_at),
        "nominalStartTime": ts(_facet(facets, "nominalTime", "nominalStartTime")),
        "nominalEndTime": ts(_facet(facets, "nominalTime", "nominalEndTime")),
        "state": state, "startedAt": started, "endedAt": ended, "durationMs": duration, "args": {},
        "jobVersion": {"namespace": record.job_namespace, "name": record.job_name,
                       "version": version("job", record.job_namespace, record.job_name, record.run_id)},
        "inputDatasetVersions": [_dataset_version(d, record.run_id) for d in record.input_versions],
        "outputDatasetVersions": [_dataset_version(d, record.run_id) for d in record.output_versions],
        "facets": facets,
    }


def _dataset_version(d: RunDataset, run_id: str) -> dict[str, Any]:
    return {"datasetVersionId": {"namespace": d.namespace, "name": d.name,
                                 "version": version("dataset", d.namespace, d.name, run_id)},
            "facets": d.facets}


# -- jobs -------------------------------------------------------------------------------------------


def _ids(items: list[DatasetId]) -> list[dict[str, str]]:
    return [{"namespace": d.namespace, "name": d.name} for d in items]


def _job_common(entry: JobEntry, latest: RunRecord | None) -> dict[str, Any]:
    facets = entry.facets.facets
    parent = entry.parent_job
    simple = entry.name.removeprefix(f"{parent}.") if parent else entry.name
    return {
        "id": {"namespace": entry.namespace, "name": entry.name}, "type": entry.type, "name": entry.name,
        "simpleName": simple, "parentJobName": parent,
        "parentJobUuid": version("job", entry.namespace, parent) if parent else None,
        "createdAt": ts(entry.created_at), "updatedAt": ts(entry.updated_at), "namespace": entry.namespace,
        "inputs": _ids(entry.inputs), "outputs": _ids(entry.outputs),
        "location": _facet(facets, "sourceCodeLocation", "url"),
        "description": _facet(facets, "documentation", "description"),
        "latestRun": run(latest) if latest is not None else None,
    }


def job(entry: JobEntry, latest_runs: list[RunRecord]) -> dict[str, Any]:
    """Marquez's Job; `latest_runs` newest first (Marquez lists up to 10)."""
    latest = latest_runs[0] if latest_runs else None
    return {**_job_common(entry, latest), "latestRuns": [run(r) for r in latest_runs[:10]],
            "facets": entry.facets.facets,
            "currentVersion": version("job", entry.namespace, entry.name, entry.latest_run_id),
            "labels": [], "tags": []}


def job_data(entry: JobEntry, latest: RunRecord | None) -> dict[str, Any]:
    """The lineage graph's JobData."""
    return {**_job_common(entry, latest), "currentRunUuid": entry.latest_run_id}


# -- datasets ---------------------------------------------------------------------------------------


def fields(facets: dict[str, Any]) -> list[dict[str, Any]]:
    schema = facets.get("schema")
    raw = schema.get("fields") if isinstance(schema, dict) else None
    return [{"name": f["name"], "type": f.get("type"), "tags": [], "description": f.get("description")}
            for f in raw or [] if isinstance(f, dict) and isinstance(f.get("name"), str)]


def _dataset_common(entry: DatasetEntry) -> dict[str, Any]:
    facets = entry.facets.facets
    return {
        "id": {"namespace": entry.namespace, "name": entry.name}, "type": "DB_TABLE", "name": entry.name,
        "physicalName": entry.name, "createdAt": ts(entry.created_at), "updatedAt": ts(entry.updated_at),
        "namespace": entry.namespace, "sourceName": _facet(facets, "datasource", "name") or entry.namespace,
        "fields": fields(facets), "tags": [], "lastModifiedAt": ts(entry.last_modified_at),
        "description": _facet(facets, "documentation", "description"),
        "lastLifecycleState": _facet(facets, "lifecycleStateChange", "lifecycleStateChange"),
    }


def dataset(entry: DatasetEntry) -> dict[str, Any]:
    """Marquez's Dataset (DB_TABLE), plus our `inputFacets`/`outputFacets`/`urn`."""
    lineage = _facet(entry.facets.facets, "columnLineage", "fields")
    return {**_dataset_common(entry),
            "currentVersion": version("dataset", entry.namespace, entry.name, entry.last_run_id or entry.updated_at),
            "columnLineage": _column_lineage(lineage) if isinstance(lineage, dict) else None,
            "facets": entry.facets.facets, "deleted": False,
            "inputFacets": entry.input_facets.facets, "outputFacets": entry.output_facets.facets, "urn": entry.key}


def _column_lineage(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, item in spec.items():
        inputs = item.get("inputFields") if isinstance(item, dict) else None
        out.append({"name": name, "inputFields": [
            {"namespace": i.get("namespace"), "dataset": i.get("name"), "field": i.get("field"),
             "transformationDescription": item.get("transformationDescription"),
             "transformationType": item.get("transformationType")}
            for i in inputs or [] if isinstance(i, dict)]})
    return out


# -- lineage graph ----------------------------------------------------------------------------------


def split_node_id(node_id: str, known_namespaces: Iterable[str]) -> tuple[str, str, str] | None:
    """`dataset:<ns>:<name>` / `job:<ns>:<name>` -> (kind, ns, name). A namespace may hold `:`
    (`s3://bucket`): the longest known namespace that prefixes the rest wins."""
    kind, sep, rest = node_id.partition(":")
    if not sep or kind not in ("dataset", "job"):
        return None
    matches = [ns for ns in known_namespaces if rest.startswith(f"{ns}:")]
    if matches:
        ns = max(matches, key=len)
        return kind, ns, rest[len(ns) + 1:]
    ns, sep, name = rest.partition(":")
    return (kind, ns, name) if sep else None


def lineage(start: str, depth: int, jobs: list[JobEntry], datasets: dict[tuple[str, str], DatasetEntry],
            latest_run: Callable[[JobEntry], RunRecord | None]) -> dict[str, Any]:
    """Marquez's lineage graph around `start` (a node id): every job within `depth` job hops upstream or
    downstream, and the datasets they read or write (depth 0: the node alone). Nodes sorted by id; edges
    origin -> destination, between nodes of the graph."""
    by_id = {job_node_id(j.namespace, j.name): j for j in jobs}
    edges: dict[str, set[tuple[str, str]]] = {}
    for jid, j in by_id.items():
        for d in j.inputs:
            e = (dataset_node_id(d.namespace, d.name), jid)
            edges.setdefault(e[0], set()).add(e)
            edges.setdefault(jid, set()).add(e)
        for d in j.outputs:
            e = (jid, dataset_node_id(d.namespace, d.name))
            edges.setdefault(e[1], set()).add(e)
            edges.setdefault(jid, set()).add(e)
    hops = {start: 0}  # node -> jobs crossed to reach it (the start's own job counts 0)
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for a, b in edges.get(node, ()):
            other = b if a == node else a
            n = hops[node] + other.startswith("job:")
            if n > depth or hops.get(other, n + 1) <= n:
                continue
            hops[other] = n
            queue.append(other)
    seen = set(hops)
    ds_by_id = {dataset_node_id(*k): v for k, v in datasets.items()}
    graph = []
    for node in sorted(seen):
        node_edges = [e for e in edges.get(node, ()) if e[0] in seen and e[1] in seen]
        data: dict[str, Any] | None
        if node.startswith("job:"):
            kind, data = JOB, job_data(by_id[node], latest_run(by_id[node])) if node in by_id else None
        else:
            kind = DATASET
            data = _dataset_common(ds_by_id[node]) if node in ds_by_id else None
        graph.append({"id": node, "type": kind, "data": data,
                      "inEdges": [{"origin": a, "destination": b} for a, b in sorted(node_edges) if b == node],
                      "outEdges": [{"origin": a, "destination": b} for a, b in sorted(node_edges) if a == node]})
    return {"graph": graph}


# -- search -----------------------------------------------------------------------------------------


def _like(q: str) -> re.Pattern[str]:
    """Marquez matches `name ILIKE '%' || q || '%'`: `%` any run, `_` one character, case-insensitive."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in q)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def search(q: str, jobs: list[JobEntry], datasets: list[DatasetEntry], *, filter_: str | None = None,
           sort: str = "name", limit: int = 10, namespace: str | None = None) -> dict[str, Any]:
    pattern = _like(q)
    results: list[dict[str, Any]] = []
    if filter_ in (None, "", "job"):
        results += [{"type": JOB, "name": j.name, "updatedAt": ts(j.updated_at), "namespace": j.namespace,
                     "nodeId": job_node_id(j.namespace, j.name)} for j in jobs if pattern.search(j.name)]
    if filter_ in (None, "", "dataset"):
        results += [{"type": DATASET, "name": d.name, "updatedAt": ts(d.updated_at), "namespace": d.namespace,
                     "nodeId": dataset_node_id(d.namespace, d.name)} for d in datasets if pattern.search(d.name)]
    if namespace:
        results = [r for r in results if r["namespace"] == namespace]
    if sort == "updated_at":
        results.sort(key=lambda r: r["updatedAt"] or "", reverse=True)
    else:
        results.sort(key=lambda r: (r["name"], r["namespace"], r["type"]))
    results = results[:limit]
    return {"totalCount": len(results), "results": results}
