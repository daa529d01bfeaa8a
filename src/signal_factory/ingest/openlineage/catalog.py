"""The lineage catalog: every OpenLineage job and dataset seen, with every facet as received.

What Marquez keeps, in our store: per job its latest facets, type, declared inputs/outputs and latest
run; per dataset its latest dataset facets, the latest input and output facets runs gave it, when a
completed run last wrote it, and its latest data-quality facets. Facets are kept whole, custom ones
included (after the guard: `enforcer/inflows.guard_run_event_doc`), so the API can answer with any of
them, not only those the pipeline interprets.

Facet merge (spec: "facets are additive"): a facet name replaces the one kept only when its event is at
least as new (events may arrive out of order); a facet `{"_deleted": true}` removes it.

`CatalogRepo` is the port; `MemoryCatalogRepo` serves tests and the memory store, the SQL one lives in
`stores/sql/openlineage.py`; `catalog_repo(store)` picks the one that joins the store's transactions.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol, TypeVar

import msgspec

from signal_factory.model.lineage import DatasetEntry, DatasetId, JobEntry

DATASET_EVENT = "DatasetEvent"
JOB_EVENT = "JobEvent"
_S = TypeVar("_S", bound=msgspec.Struct)










def new_job(namespace: str, name: str, at: str, at_ms: int) -> JobEntry:
    return JobEntry(namespace=namespace, name=name, created_at=at, updated_at=at, updated_ms=at_ms)


def new_dataset(namespace: str, name: str, key: str, at: str, at_ms: int) -> DatasetEntry:
    return DatasetEntry(namespace=namespace, name=name, key=key, created_at=at, updated_at=at, updated_ms=at_ms)


def touch(entry: JobEntry | DatasetEntry, at: str, at_ms: int) -> None:
    if at_ms >= entry.updated_ms:
        entry.updated_at, entry.updated_ms = at, at_ms
    entry.created_at = min(entry.created_at, at)


class CatalogRepo(Protocol):
    def get_job(self, namespace: str, name: str) -> JobEntry | None: ...

    def put_job(self, entry: JobEntry) -> None: ...

    def jobs(self, namespace: str | None = None) -> list[JobEntry]:
        """Jobs by namespace and name (all namespaces when None)."""
        ...

    def get_dataset(self, namespace: str, name: str) -> DatasetEntry | None: ...

    def put_dataset(self, entry: DatasetEntry) -> None: ...

    def datasets(self, namespace: str | None = None) -> list[DatasetEntry]:
        """Datasets by namespace and name (all namespaces when None)."""
        ...

    def add_static_event(self, kind: str, namespace: str, name: str, event_time: str, event_ms: int,
                         doc: bytes) -> bool:
        """Store a DatasetEvent/JobEvent as received; False when the same one (kind, id, time) is stored."""
        ...


class MemoryCatalogRepo:
    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], JobEntry] = {}
        self._datasets: dict[tuple[str, str], DatasetEntry] = {}
        self.static: dict[tuple[str, str, str, str], tuple[int, bytes]] = {}

    def get_job(self, namespace: str, name: str) -> JobEntry | None:
        found = self._jobs.get((namespace, name))
        return None if found is None else _copy(found)

    def put_job(self, entry: JobEntry) -> None:
        self._jobs[(entry.namespace, entry.name)] = _copy(entry)

    def jobs(self, namespace: str | None = None) -> list[JobEntry]:
        return [_copy(v) for k, v in sorted(self._jobs.items()) if namespace is None or k[0] == namespace]

    def get_dataset(self, namespace: str, name: str) -> DatasetEntry | None:
        found = self._datasets.get((namespace, name))
        return None if found is None else _copy(found)

    def put_dataset(self, entry: DatasetEntry) -> None:
        self._datasets[(entry.namespace, entry.name)] = _copy(entry)

    def datasets(self, namespace: str | None = None) -> list[DatasetEntry]:
        return [_copy(v) for k, v in sorted(self._datasets.items()) if namespace is None or k[0] == namespace]

    def add_static_event(self, kind: str, namespace: str, name: str, event_time: str, event_ms: int,
                         doc: bytes) -> bool:
        key = (kind, namespace, name, event_time)
        if key in self.static:
            return False
        self.static[key] = (event_ms, doc)
        return True


def _copy(entry: _S) -> _S:
    """A deep copy, so a caller's edits reach the repository only through `put_*` (as with SQL)."""
    return msgspec.json.decode(msgspec.json.encode(entry), type=type(entry))


_MEMORY: weakref.WeakKeyDictionary[object, MemoryCatalogRepo] = weakref.WeakKeyDictionary()


def catalog_repo(store: object) -> CatalogRepo:
    """The catalog over `store`: SQL tables for the SQL store (same transactions), else one memory
    repository per store object."""
    own: CatalogRepo | None = getattr(store, "lineage_catalog", None)
    if own is not None:
        return own
    repo = _MEMORY.get(store)
    if repo is None:
        repo = _MEMORY[store] = MemoryCatalogRepo()
    return repo


# -- applying events (pure: the caller reads the entries first and writes them after) -------------------


def apply_job(prev: JobEntry | None, namespace: str, name: str, facets: dict[str, Any], at: str, at_ms: int, *,
              job_type: str, inputs: list[DatasetId], outputs: list[DatasetId], run_id: str | None = None,
              parent_job: str | None = None) -> JobEntry:
    """The job's entry after one event naming it (a RunEvent with `run_id`, or a JobEvent)."""
    entry = prev if prev is not None else new_job(namespace, name, at, at_ms)
    touch(entry, at, at_ms)
    entry.facets.merge(facets, at_ms)
    same_run = run_id is not None and run_id == entry.latest_run_id
    if at_ms >= entry.io_ms or same_run:
        # Each side an event names replaces the one kept; a side it does not name is kept (a failed run that
        # never reached its outputs does not erase them). Within one run (START names the inputs, COMPLETE
        # the outputs) both are kept.
        if inputs:
            entry.inputs = list(dict.fromkeys([*entry.inputs, *inputs])) if same_run else inputs
        if outputs:
            entry.outputs = list(dict.fromkeys([*entry.outputs, *outputs])) if same_run else outputs
        if inputs or outputs:
            entry.io_ms = max(at_ms, entry.io_ms)
    if at_ms >= entry.updated_ms or prev is None:
        entry.type = job_type
    if run_id is not None and at_ms >= entry.latest_run_ms:
        entry.latest_run_id, entry.latest_run_ms = run_id, at_ms
    if parent_job:
        entry.parent_job = parent_job
    return entry


def apply_dataset(prev: DatasetEntry | None, namespace: str, name: str, key: str, at: str, at_ms: int, *,
                  facets: dict[str, Any], input_facets: dict[str, Any] | None = None,
                  output_facets: dict[str, Any] | None = None, written_by: str | None = None) -> DatasetEntry:
    """The dataset's entry after one event naming it; `written_by`: the run id of a COMPLETE that wrote it."""
    entry = prev if prev is not None else new_dataset(namespace, name, key, at, at_ms)
    touch(entry, at, at_ms)
    entry.key = key
    entry.facets.merge(facets, at_ms)
    entry.input_facets.merge(input_facets or {}, at_ms)
    entry.output_facets.merge(output_facets or {}, at_ms)
    if written_by is not None and at_ms >= entry.last_modified_ms:
        entry.last_modified_at, entry.last_modified_ms, entry.last_run_id = at, at_ms, written_by
    return entry
