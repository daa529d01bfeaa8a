"""`RunRepo` and `CatalogRepo` on SQL: OpenLineage runs (latest state, record as JSON), their raw events,
the catalog of jobs and datasets (facets as received) and the DatasetEvents/JobEvents as received.

The tables register on the shared `schema.metadata` when this module is imported (migrations 0003 and
0006 import it, so the metadata and the migrations stay one description).
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from sqlalchemy import BigInteger, Column, Index, String, Table, Text, func, select

from signal_factory.model.lineage import DatasetEntry, EventEntry, JobEntry, RunRecord
from signal_factory.stores.sql.schema import metadata
from signal_factory.stores.sql.transactions import Database

openlineage_run = Table(
    "openlineage_runs", metadata,
    Column("run_id", String(), primary_key=True),
    Column("job_namespace", String(), nullable=False),
    Column("job_name", String(), nullable=False),
    Column("state", String(), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
    Index(None, "job_namespace", "job_name"),
)

openlineage_event = Table(
    "openlineage_events", metadata,
    Column("run_id", String(), primary_key=True),
    Column("event_type", String(), primary_key=True),
    Column("event_time", String(), primary_key=True),
    Column("event_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

openlineage_job = Table(
    "openlineage_jobs", metadata,
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("updated_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

openlineage_dataset = Table(
    "openlineage_datasets", metadata,
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("updated_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

openlineage_static_event = Table(
    "openlineage_static_events", metadata,
    Column("kind", String(), primary_key=True),
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("event_time", String(), primary_key=True),
    Column("event_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)


_E = TypeVar("_E", JobEntry, DatasetEntry)


class SqlRunRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, run_id: str) -> RunRecord | None:
        with self._db.read() as conn:
            doc = conn.execute(select(openlineage_run.c.doc).where(openlineage_run.c.run_id == run_id)).scalar()
        return None if doc is None else msgspec.json.decode(doc, type=RunRecord)

    def has_event(self, run_id: str, event_type: str, event_time: str) -> bool:
        t = openlineage_event
        with self._db.read() as conn:
            found = conn.execute(select(t.c.event_ms).where(
                t.c.run_id == run_id, t.c.event_type == event_type, t.c.event_time == event_time)).first()
        return found is not None

    def add_event(self, record: RunRecord, entry: EventEntry, doc: bytes) -> None:
        ev = self._db.insert(openlineage_event).values(
            run_id=record.run_id, event_type=entry.event_type, event_time=entry.event_time, event_ms=entry.event_ms,
            doc=doc.decode())
        row = {"job_namespace": record.job_namespace, "job_name": record.job_name, "state": record.state,
               "updated_ms": record.updated_ms, "doc": msgspec.json.encode(record).decode()}
        ins = self._db.insert(openlineage_run).values(run_id=record.run_id, **row)
        run = ins.on_conflict_do_update(index_elements=[openlineage_run.c.run_id],
                                        set_={k: getattr(ins.excluded, k) for k in row})
        with self._db.write() as conn:
            conn.execute(ev.on_conflict_do_nothing())
            conn.execute(run)

    def event_docs(self, run_id: str) -> list[bytes]:
        t = openlineage_event
        with self._db.read() as conn:
            rows = conn.execute(select(t.c.doc).where(t.c.run_id == run_id).order_by(t.c.event_ms)).scalars().all()
        return [r.encode() for r in rows]

    def of_job(self, namespace: str, name: str, *, limit: int = 100, offset: int = 0) -> list[RunRecord]:
        t = openlineage_run
        query = (select(t.c.doc).where(t.c.job_namespace == namespace, t.c.job_name == name)
                 .order_by(t.c.updated_ms.desc(), t.c.run_id).limit(limit).offset(offset))
        with self._db.read() as conn:
            docs = conn.execute(query).scalars().all()
        return [msgspec.json.decode(d, type=RunRecord) for d in docs]

    def count_of_job(self, namespace: str, name: str) -> int:
        t = openlineage_run
        with self._db.read() as conn:
            n = conn.execute(select(func.count()).select_from(t).where(
                t.c.job_namespace == namespace, t.c.job_name == name)).scalar()
        return int(n or 0)


class SqlCatalogRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get_job(self, namespace: str, name: str) -> JobEntry | None:
        return self._get(openlineage_job, JobEntry, namespace, name)

    def put_job(self, entry: JobEntry) -> None:
        self._put(openlineage_job, entry.namespace, entry.name, entry.updated_ms, msgspec.json.encode(entry))

    def jobs(self, namespace: str | None = None) -> list[JobEntry]:
        return self._list(openlineage_job, JobEntry, namespace)

    def get_dataset(self, namespace: str, name: str) -> DatasetEntry | None:
        return self._get(openlineage_dataset, DatasetEntry, namespace, name)

    def put_dataset(self, entry: DatasetEntry) -> None:
        self._put(openlineage_dataset, entry.namespace, entry.name, entry.updated_ms, msgspec.json.encode(entry))

    def datasets(self, namespace: str | None = None) -> list[DatasetEntry]:
        return self._list(openlineage_dataset, DatasetEntry, namespace)

    def add_static_event(self, kind: str, namespace: str, name: str, event_time: str, event_ms: int,
                         doc: bytes) -> bool:
        ins = self._db.insert(openlineage_static_event).values(
            kind=kind, namespace=namespace, name=name, event_time=event_time, event_ms=event_ms, doc=doc.decode())
        with self._db.write() as conn:
            return bool(conn.execute(ins.on_conflict_do_nothing()).rowcount)

    def _get(self, t: Table, kind: type[_E], namespace: str, name: str) -> _E | None:
        with self._db.read() as conn:
            doc = conn.execute(select(t.c.doc).where(t.c.namespace == namespace, t.c.name == name)).scalar()
        return None if doc is None else msgspec.json.decode(doc, type=kind)

    def _put(self, t: Table, namespace: str, name: str, updated_ms: int, doc: bytes) -> None:
        ins = self._db.insert(t).values(namespace=namespace, name=name, updated_ms=updated_ms, doc=doc.decode())
        upsert = ins.on_conflict_do_update(index_elements=[t.c.namespace, t.c.name],
                                           set_={"updated_ms": ins.excluded.updated_ms, "doc": ins.excluded.doc})
        with self._db.write() as conn:
            conn.execute(upsert)

    def _list(self, t: Table, kind: type[_E], namespace: str | None) -> list[_E]:
        query = select(t.c.doc).order_by(t.c.namespace, t.c.name)
        if namespace is not None:
            query = query.where(t.c.namespace == namespace)
        with self._db.read() as conn:
            docs = conn.execute(query).scalars().all()
        return [msgspec.json.decode(d, type=kind) for d in docs]
