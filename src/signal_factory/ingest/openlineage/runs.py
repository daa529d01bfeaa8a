"""The run-event store: every OpenLineage run keyed by runId, with its latest state and event history.

`RunRepo` is the port; `MemoryRunRepo` serves tests and the memory store, the SQL one lives in
`stores/sql/openlineage.py` (tables from migration 0003) and the SQL store carries it as `lineage_runs`.
`run_repo(store)` picks the one that joins the store's transactions. The SQL adapter imports this module,
never the other way round.
"""

from __future__ import annotations

import weakref
from typing import Protocol

from signal_factory.ingest.openlineage.model import TERMINAL
from signal_factory.model.lineage import EventEntry, RunRecord

_TERMINAL_RANK = {t: 1 for t in TERMINAL}








def later(entry: EventEntry, current: EventEntry | None) -> bool:
    """Whether `entry` becomes the run's state: later in event time; at the same time a terminal state wins."""
    if current is None:
        return True
    return (entry.event_ms, _TERMINAL_RANK.get(entry.event_type, 0)) >= (
        current.event_ms, _TERMINAL_RANK.get(current.event_type, 0))


class RunRepo(Protocol):
    def get(self, run_id: str) -> RunRecord | None: ...

    def has_event(self, run_id: str, event_type: str, event_time: str) -> bool: ...

    def add_event(self, record: RunRecord, entry: EventEntry, doc: bytes) -> None:
        """Store the event (idempotent by run, type and time) and replace the run's record."""
        ...

    def event_docs(self, run_id: str) -> list[bytes]:
        """The run's raw events, oldest first."""
        ...

    def of_job(self, namespace: str, name: str, *, limit: int = 100, offset: int = 0) -> list[RunRecord]:
        """The job's runs, newest (latest event) first."""
        ...

    def count_of_job(self, namespace: str, name: str) -> int: ...


class MemoryRunRepo:
    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.docs: dict[tuple[str, str, str], tuple[int, bytes]] = {}

    def get(self, run_id: str) -> RunRecord | None:
        return self.runs.get(run_id)

    def has_event(self, run_id: str, event_type: str, event_time: str) -> bool:
        return (run_id, event_type, event_time) in self.docs

    def add_event(self, record: RunRecord, entry: EventEntry, doc: bytes) -> None:
        self.docs.setdefault((record.run_id, entry.event_type, entry.event_time), (entry.event_ms, doc))
        self.runs[record.run_id] = record

    def event_docs(self, run_id: str) -> list[bytes]:
        return [doc for (rid, _, _), (_, doc) in sorted(self.docs.items(), key=lambda kv: kv[1][0])
                if rid == run_id]

    def of_job(self, namespace: str, name: str, *, limit: int = 100, offset: int = 0) -> list[RunRecord]:
        mine = [r for r in self.runs.values() if (r.job_namespace, r.job_name) == (namespace, name)]
        mine.sort(key=lambda r: (-r.updated_ms, r.run_id))
        return mine[offset:offset + limit]

    def count_of_job(self, namespace: str, name: str) -> int:
        return sum((r.job_namespace, r.job_name) == (namespace, name) for r in self.runs.values())


_MEMORY: weakref.WeakKeyDictionary[object, MemoryRunRepo] = weakref.WeakKeyDictionary()


def run_repo(store: object) -> RunRepo:
    """The run repository over `store`: SQL tables for the SQL store (same transactions), else one memory
    repository per store object (not rolled back with the store's memory transactions, like its graph)."""
    own: RunRepo | None = getattr(store, "lineage_runs", None)
    if own is not None:
        return own
    repo = _MEMORY.get(store)
    if repo is None:
        repo = _MEMORY[store] = MemoryRunRepo()
    return repo
