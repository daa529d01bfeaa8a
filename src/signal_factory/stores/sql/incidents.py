"""`IncidentRepo` on SQL: one row per incident, and a counter for `INC-<n>` ids."""

from __future__ import annotations

from sqlalchemy import select

from signal_factory.model.incidents import Incident
from signal_factory.stores.sql.documents import (
    INCIDENT_COUNTER,
    OPEN_STATUSES,
    decode_incident_doc,
    encode_doc,
    incident_id,
    to_ms,
)
from signal_factory.stores.sql.schema import id_counter as counter_t
from signal_factory.stores.sql.schema import incident as inc_t
from signal_factory.stores.sql.transactions import Database

_NEWEST_FIRST = (inc_t.c.created_ms.desc(), inc_t.c.incident_id.desc())


class SqlIncidentRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def next_id(self) -> str:
        """`INC-1`, `INC-2`, ...: one atomic upsert, safe across processes. Inside a transaction that
        rolls back, the number is handed out again."""
        ins = self._db.insert(counter_t).values(name=INCIDENT_COUNTER, value=1)
        stmt = ins.on_conflict_do_update(index_elements=[counter_t.c.name],
                                         set_={"value": counter_t.c.value + 1}).returning(counter_t.c.value)
        with self._db.write() as conn:
            n = conn.execute(stmt).scalar_one()
        return incident_id(n)

    def get(self, incident_id: str) -> Incident | None:
        with self._db.read() as conn:
            doc = conn.execute(select(inc_t.c.doc).where(inc_t.c.incident_id == incident_id)).scalar()
        return None if doc is None else decode_incident_doc(doc)

    def find_open(self, dataset_urn: str, failure_signature: str) -> Incident | None:
        """The newest OPEN or ACKNOWLEDGED incident for (dataset, signature)."""
        stmt = (select(inc_t.c.doc).where(inc_t.c.dataset_urn == dataset_urn,
                                          inc_t.c.failure_signature == failure_signature,
                                          inc_t.c.status.in_(OPEN_STATUSES))
                .order_by(*_NEWEST_FIRST).limit(1))
        with self._db.read() as conn:
            doc = conn.execute(stmt).scalar()
        return None if doc is None else decode_incident_doc(doc)

    def put(self, incident: Incident) -> None:
        ins = self._db.insert(inc_t).values(
            incident_id=incident.incident_id, status=incident.status, dataset_urn=incident.dataset_urn,
            failure_signature=incident.failure_signature, created_ms=to_ms(incident.created_at),
            doc=encode_doc(incident))
        x = ins.excluded
        stmt = ins.on_conflict_do_update(index_elements=[inc_t.c.incident_id], set_={
            "status": x.status, "dataset_urn": x.dataset_urn, "failure_signature": x.failure_signature,
            "created_ms": x.created_ms, "doc": x.doc})
        with self._db.write() as conn:
            conn.execute(stmt)

    def list(self, *, status: str | None = None, dataset_urn: str | None = None, limit: int = 100) -> list[Incident]:
        """Newest first: by `created_at`, then incident id (both descending)."""
        stmt = select(inc_t.c.doc)
        if status is not None:
            stmt = stmt.where(inc_t.c.status == status)
        if dataset_urn is not None:
            stmt = stmt.where(inc_t.c.dataset_urn == dataset_urn)
        with self._db.read() as conn:
            return [decode_incident_doc(d) for d in conn.execute(stmt.order_by(*_NEWEST_FIRST).limit(limit)).scalars()]
