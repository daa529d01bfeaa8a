"""`RunRepo` on SQL: OpenLineage runs (latest state, record as JSON) and their raw events.

The tables register on the shared `schema.metadata` when this module is imported (migration 0003
imports it, so the metadata and the migrations stay one description).
"""

from __future__ import annotations

import msgspec
from sqlalchemy import BigInteger, Column, Index, String, Table, Text, select

from signal_factory.ingest.openlineage.runs import EventEntry, RunRecord
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
