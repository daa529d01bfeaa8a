"""`LineageReader`: what the API and the CLI read back of OpenLineage, over the run store and the catalog.

Two vocabularies over the same data: our own run view (`run`: the run record with every facet as
received and the `errorMessage` of a failed run, for `GET /api/v1/lineage/runs/{id}` and `signal-factory
lineage run`), and Marquez's read API (`marquez.py` shapes) for tools that read lineage from Marquez.
Lists read the whole catalog (jobs and datasets, not events): fine for thousands of jobs, not millions.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.ingest.openlineage import marquez as mq
from signal_factory.ingest.openlineage.catalog import catalog_repo
from signal_factory.ingest.openlineage.runs import run_repo
from signal_factory.model.lineage import RunRecord

RUN_FACETS, JOB_FACETS = "run", "job"


def run_view(record: RunRecord) -> dict[str, Any]:
    """Our run view: the record, `facets` as received (latest per name), `error` when the run failed with an
    `errorMessage` facet, `marquez_state` (COMPLETED, FAILED ...)."""
    doc: dict[str, Any] = msgspec.to_builtins(record)
    doc["facets"] = record.facets.facets
    doc["marquez_state"] = mq.run_state(record)
    return doc


class LineageReader:
    def __init__(self, store: object) -> None:
        self.runs = run_repo(store)
        self.catalog = catalog_repo(store)

    # -- ours ---------------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        record = self.runs.get(run_id)
        return None if record is None else run_view(record)

    # -- Marquez ------------------------------------------------------------------------------------

    def namespace_names(self) -> list[str]:
        return [n["name"] for n in self.namespaces()]

    def namespaces(self) -> list[dict[str, Any]]:
        return mq.namespaces(self.catalog.jobs(), self.catalog.datasets())

    def namespace(self, name: str) -> dict[str, Any] | None:
        found = mq.namespaces(self.catalog.jobs(name), self.catalog.datasets(name))
        return found[0] if found else None

    def jobs(self, namespace: str | None, limit: int, offset: int) -> dict[str, Any]:
        entries = self.catalog.jobs(namespace)
        page = entries[offset:offset + limit]
        return {"jobs": [mq.job(e, self.runs.of_job(e.namespace, e.name, limit=10)) for e in page],
                "totalCount": len(entries)}

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        entry = self.catalog.get_job(namespace, name)
        return None if entry is None else mq.job(entry, self.runs.of_job(namespace, name, limit=10))

    def job_runs(self, namespace: str, name: str, limit: int, offset: int) -> dict[str, Any] | None:
        if self.catalog.get_job(namespace, name) is None:
            return None
        runs = self.runs.of_job(namespace, name, limit=limit, offset=offset)
        return {"runs": [mq.run(r) for r in runs], "totalCount": self.runs.count_of_job(namespace, name)}

    def marquez_run(self, run_id: str) -> dict[str, Any] | None:
        record = self.runs.get(run_id)
        return None if record is None else mq.run(record)

    def run_facets(self, run_id: str, kind: str) -> dict[str, Any] | None:
        """Marquez's `/jobs/runs/{id}/facets?type=run|job`: the run's facets or its job's as of the run."""
        record = self.runs.get(run_id)
        if record is None:
            return None
        return {"runId": run_id, "facets": record.job_facets if kind == JOB_FACETS else record.facets.facets}

    def datasets(self, namespace: str, limit: int, offset: int) -> dict[str, Any]:
        entries = self.catalog.datasets(namespace)
        return {"datasets": [mq.dataset(e) for e in entries[offset:offset + limit]], "totalCount": len(entries)}

    def dataset(self, namespace: str, name: str) -> dict[str, Any] | None:
        entry = self.catalog.get_dataset(namespace, name)
        return None if entry is None else mq.dataset(entry)

    def lineage(self, node_id: str, depth: int) -> dict[str, Any] | None:
        """The graph around `node_id`, or None when no such dataset or job is known."""
        parts = mq.split_node_id(node_id, self.namespace_names())
        if parts is None:
            return None
        kind, ns, name = parts
        known = self.catalog.get_dataset(ns, name) if kind == "dataset" else self.catalog.get_job(ns, name)
        if known is None:
            return None
        start = mq.dataset_node_id(ns, name) if kind == "dataset" else mq.job_node_id(ns, name)
        datasets = {(d.namespace, d.name): d for d in self.catalog.datasets()}

        def latest(entry: Any) -> RunRecord | None:
            return self.runs.get(entry.latest_run_id) if entry.latest_run_id else None

        return mq.lineage(start, depth, self.catalog.jobs(), datasets, latest)

    def search(self, q: str, *, filter_: str | None, sort: str, limit: int, namespace: str | None) -> dict[str, Any]:
        return mq.search(q, self.catalog.jobs(), self.catalog.datasets(), filter_=filter_, sort=sort, limit=limit,
                         namespace=namespace)
