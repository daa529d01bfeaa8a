"""`EvidenceRepo` on SQL: evidence documents, their reason codes, and PASS tallies."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Select,
    and_,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
)

from signal_factory.model.evidence import Evidence
from signal_factory.model.tally import PassTally
from signal_factory.stores.ports import BrowseCursor, EvidenceFilter, SignatureStats
from signal_factory.stores.sql.documents import (
    EvidenceRow,
    decode_evidence_doc,
    evidence_row,
    tally_from_key,
    tally_totals,
    to_ms,
)
from signal_factory.stores.sql.schema import evidence as ev_t
from signal_factory.stores.sql.schema import evidence_reason as reason_t
from signal_factory.stores.sql.schema import pass_tally as tally_t
from signal_factory.stores.sql.transactions import Database

MINUTE_MS = 60_000


_COLUMNS = ("evidence_id", "dataset_urn", "event_ms", "result", "run_id", "doc", "source_topic", "source_partition",
            "source_offset")
_COLS = ", ".join(_COLUMNS)
_STAGE = "sf_evidence_stage"


def _copy_evidence(conn: Connection, rows: Collection[EvidenceRow]) -> set[str]:
    """PostgreSQL: COPY the rows into a temporary staging table (one stream, no statement to parse per
    batch; psycopg's multi-VALUES executemany re-parsed a statement of thousands of parameters), then move
    them with one INSERT .. SELECT .. ON CONFLICT DO NOTHING RETURNING; the stage is emptied after.
    The reason codes of the inserted rows are COPied straight into `evidence_reason`: none can exist yet
    (their evidence row was just inserted by this transaction, and reason rows cascade with evidence)."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (LIKE evidence INCLUDING DEFAULTS) "
                    "ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY {_STAGE} ({_COLS}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.evidence_id, r.dataset_urn, r.event_ms, r.result, r.run_id, r.doc,
                                r.source_topic, r.source_partition, r.source_offset))
        cur.execute(f"INSERT INTO evidence ({_COLS}) SELECT {_COLS} FROM {_STAGE} "
                    "ON CONFLICT (evidence_id) DO NOTHING RETURNING evidence_id")
        inserted = {row[0] for row in cur.fetchall()}
        cur.execute(f"TRUNCATE {_STAGE}")
        if any(r.signatures for r in rows):
            with cur.copy("COPY evidence_reason (evidence_id, signature, dataset_urn, event_ms) FROM STDIN") as copy:
                for r in rows:
                    if r.signatures and r.evidence_id in inserted:
                        for sig in r.signatures:
                            copy.write_row((r.evidence_id, sig, r.dataset_urn, r.event_ms))
    finally:
        cur.close()
    return inserted


class SqlEvidenceRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_many(self, evidence: Sequence[Evidence], tallies: Sequence[PassTally] = ()) -> list[str]:
        """Insert evidence (ids already stored are skipped, first copy wins within a batch) and ADD the
        tallies' counts; return the new ids in input order.

        One `INSERT .. ON CONFLICT DO NOTHING RETURNING evidence_id` (SQLite: executemany; PostgreSQL:
        COPY into a session-local staging table, then one INSERT .. SELECT), so the answer is exact even
        when another writer inserts the same ids concurrently.
        """
        rows: dict[str, EvidenceRow] = {}
        for ev in evidence:  # the one encode of each evidence (`evidence_row`)
            if ev.evidence_id not in rows:
                rows[ev.evidence_id] = evidence_row(ev)
        totals = tally_totals(tuple(tallies))
        inserted: set[str] = set()
        with self._db.write() as conn:
            if rows:
                if self._db.dialect == "postgresql":
                    inserted = _copy_evidence(conn, rows.values())  # and their reason codes
                else:
                    stmt = (self._db.insert(ev_t).on_conflict_do_nothing(index_elements=[ev_t.c.evidence_id])
                            .returning(ev_t.c.evidence_id))
                    params = [dict(zip(_COLUMNS, (r.evidence_id, r.dataset_urn, r.event_ms, r.result, r.run_id, r.doc,
                                                  r.source_topic, r.source_partition, r.source_offset), strict=True))
                              for r in rows.values()]
                    inserted = set(conn.execute(stmt, params).scalars())
                    reasons = [{"evidence_id": r.evidence_id, "signature": sig, "dataset_urn": r.dataset_urn,
                                "event_ms": r.event_ms}
                               for r in rows.values() if r.evidence_id in inserted for sig in r.signatures]
                    if reasons:
                        conn.execute(self._db.insert(reason_t).on_conflict_do_nothing(), reasons)
            if totals:
                ins = self._db.insert(tally_t)
                stmt = ins.on_conflict_do_update(
                    index_elements=[tally_t.c.dataset_urn, tally_t.c.minute, tally_t.c.producer,
                                    tally_t.c.producer_version],
                    set_={"count": tally_t.c.count + ins.excluded["count"]})
                conn.execute(stmt, [{"dataset_urn": k[0], "minute": k[1], "producer": k[2], "producer_version": k[3],
                                     "minute_ms": to_ms(k[1]), "count": n} for k, n in totals.items()])
        return [i for i in rows if i in inserted]

    def get(self, evidence_id: str) -> Evidence | None:
        with self._db.read() as conn:
            doc = conn.execute(select(ev_t.c.doc).where(ev_t.c.evidence_id == evidence_id)).scalar()
        return None if doc is None else decode_evidence_doc(doc)

    def by_source(self, topic: str | None, partition: int | None, offset: int, *, limit: int = 100) -> list[Evidence]:
        """Evidence of the record at these Kafka coordinates (the enforcer's, and any processor's that consumed it),
        oldest first; `partition` None matches any partition."""
        c = ev_t.c
        same_topic = c.source_topic == topic if topic is not None else c.source_topic.is_(None)
        stmt = select(c.doc).where(same_topic, c.source_offset == offset)
        if partition is not None:
            stmt = stmt.where(c.source_partition == partition)
        return self._docs(stmt.order_by(c.event_ms, c.evidence_id).limit(limit))

    def by_dataset(self, dataset_urn: str, start_ms: int, end_ms: int, *, result: str | None = None,
                   limit: int = 1000) -> list[Evidence]:
        stmt = select(ev_t.c.doc).where(ev_t.c.dataset_urn == dataset_urn, ev_t.c.event_ms >= start_ms,
                                        ev_t.c.event_ms < end_ms)
        if result is not None:
            stmt = stmt.where(ev_t.c.result == result)
        return self._docs(stmt.order_by(ev_t.c.event_ms, ev_t.c.evidence_id).limit(limit))

    def by_signature(self, signature: str, *, dataset_urn: str | None = None, limit: int = 1000) -> list[Evidence]:
        stmt = (select(ev_t.c.doc).join(reason_t, reason_t.c.evidence_id == ev_t.c.evidence_id)
                .where(reason_t.c.signature == signature))
        if dataset_urn is not None:
            stmt = stmt.where(reason_t.c.dataset_urn == dataset_urn)
        return self._docs(stmt.order_by(reason_t.c.event_ms, reason_t.c.evidence_id).limit(limit))

    def signature_stats(self, signature: str, dataset_urn: str | None = None) -> list[SignatureStats]:
        """One row per dataset, by dataset URN; the first evidence is the earliest (ties: smallest id)."""
        ds = reason_t.c.dataset_urn
        inner = select(
            ds, reason_t.c.event_ms, reason_t.c.evidence_id,
            func.row_number().over(partition_by=ds, order_by=(reason_t.c.event_ms, reason_t.c.evidence_id)).label("rn"),
            func.count().over(partition_by=ds).label("n"),
            func.max(reason_t.c.event_ms).over(partition_by=ds).label("last_ms"),
        ).where(reason_t.c.signature == signature)
        if dataset_urn is not None:
            inner = inner.where(reason_t.c.dataset_urn == dataset_urn)
        sub = inner.subquery()
        stmt = select(sub).where(sub.c.rn == 1).order_by(sub.c.dataset_urn)
        with self._db.read() as conn:
            return [SignatureStats(signature, r.dataset_urn, r.n, r.event_ms, r.last_ms, r.evidence_id)
                    for r in conn.execute(stmt)]

    def signature_last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        stmt = select(func.max(reason_t.c.event_ms)).where(
            reason_t.c.signature == signature, reason_t.c.dataset_urn == dataset_urn, reason_t.c.event_ms < before_ms)
        with self._db.read() as conn:
            last: int | None = conn.execute(stmt).scalar()
        return last

    def signature_times(self, signature: str, dataset_urn: str, start_ms: int, end_ms: int, *,
                        limit: int = 20000) -> list[tuple[int, str]]:
        r = reason_t.c
        stmt = (select(r.event_ms, r.evidence_id)
                .where(r.signature == signature, r.dataset_urn == dataset_urn, r.event_ms >= start_ms,
                       r.event_ms < end_ms)
                .order_by(r.event_ms, r.evidence_id).limit(limit))
        with self._db.read() as conn:
            return [(int(row.event_ms), str(row.evidence_id)) for row in conn.execute(stmt)]

    def minute_counts(self, dataset_urn: str, start_ms: int, end_ms: int) -> dict[int, int]:
        """Two GROUP BYs on indexed columns: evidence by (event_ms // 60000), tallies by minute_ms."""
        minute = (ev_t.c.event_ms // MINUTE_MS).label("m")
        evs = (select(minute, func.count().label("n"))
               .where(ev_t.c.dataset_urn == dataset_urn, ev_t.c.event_ms >= start_ms,
                      ev_t.c.event_ms < end_ms + MINUTE_MS)
               .group_by(minute))
        t = tally_t.c
        tallies = (select(t.minute_ms, func.sum(t.count).label("n"))
                   .where(t.dataset_urn == dataset_urn, t.minute_ms >= start_ms, t.minute_ms < end_ms)
                   .group_by(t.minute_ms))
        out: dict[int, int] = {}
        with self._db.read() as conn:
            for row in conn.execute(evs):
                m = int(row.m) * MINUTE_MS
                if start_ms <= m < end_ms:
                    out[m] = out.get(m, 0) + int(row.n)
            for row in conn.execute(tallies):
                out[int(row.minute_ms)] = out.get(int(row.minute_ms), 0) + int(row.n)
        return out

    def by_run(self, run_id: str, *, limit: int = 10000) -> list[Evidence]:
        stmt = select(ev_t.c.doc).where(ev_t.c.run_id == run_id)
        return self._docs(stmt.order_by(ev_t.c.event_ms, ev_t.c.evidence_id).limit(limit))

    def browse(self, where: EvidenceFilter, *, after: BrowseCursor | None = None, newest_first: bool = True,
               limit: int = 50) -> list[Evidence]:
        """Keyset paging on the (event_ms, evidence_id) order: a page costs the same at any depth."""
        e = ev_t.c
        stmt = select(e.doc).where(*self._filter(where))
        if after is not None:
            ms, eid = after
            older = or_(e.event_ms < ms, and_(e.event_ms == ms, e.evidence_id < eid))
            newer = or_(e.event_ms > ms, and_(e.event_ms == ms, e.evidence_id > eid))
            stmt = stmt.where(older if newest_first else newer)
        order = (e.event_ms.desc(), e.evidence_id.desc()) if newest_first else (e.event_ms, e.evidence_id)
        return self._docs(stmt.order_by(*order).limit(limit))

    def count(self, where: EvidenceFilter) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(ev_t).where(*self._filter(where))).scalar() or 0)

    def _filter(self, where: EvidenceFilter) -> list[ColumnElement[bool]]:
        e = ev_t.c
        out: list[ColumnElement[bool]] = []
        if where.dataset_urn is not None:
            out.append(e.dataset_urn == where.dataset_urn)
        if where.result is not None:
            out.append(e.result == where.result)
        if where.start_ms is not None:
            out.append(e.event_ms >= where.start_ms)
        if where.end_ms is not None:
            out.append(e.event_ms < where.end_ms)
        if where.signature is not None:
            out.append(exists().where(reason_t.c.evidence_id == e.evidence_id,
                                      reason_t.c.signature == where.signature))
        if where.producer is not None:
            out.append(self._producer_id() == where.producer)
        return out

    def _producer_id(self) -> ColumnElement[str]:
        """`producer.id` read from the stored document by the database's JSON functions (no column holds it:
        a producer filter scans the rows the other filters leave). SQLite's json_extract reads the text as
        is; PostgreSQL needs the text cast to json first."""
        doc = cast(ev_t.c.doc, JSON) if self._db.dialect == "postgresql" else type_coerce(ev_t.c.doc, JSON)
        return doc["producer"]["id"].as_string()

    def purge_older_than(self, cutoff_ms: int) -> int:
        """Delete evidence with event time < cutoff (with its reason codes) and tallies whose minute starts
        before it; return evidence rows + tally rows removed."""
        old = select(ev_t.c.evidence_id).where(ev_t.c.event_ms < cutoff_ms)
        with self._db.write() as conn:
            conn.execute(delete(reason_t).where(reason_t.c.evidence_id.in_(old)))
            removed = conn.execute(delete(ev_t).where(ev_t.c.event_ms < cutoff_ms)).rowcount
            removed += conn.execute(delete(tally_t).where(tally_t.c.minute_ms < cutoff_ms)).rowcount
        return removed

    def tallies(self, dataset_urn: str, start_ms: int, end_ms: int) -> list[PassTally]:
        """PASS tallies of a dataset whose minute starts in [start_ms, end_ms), oldest first.

        Not part of `EvidenceRepo` yet: the protocol has no read side for tallies.
        """
        t = tally_t.c
        stmt = (select(t.dataset_urn, t.minute, t.producer, t.producer_version, t.count.label("n"))
                .where(t.dataset_urn == dataset_urn, t.minute_ms >= start_ms, t.minute_ms < end_ms)
                .order_by(t.minute_ms, t.producer, t.producer_version))
        with self._db.read() as conn:
            return [tally_from_key((r.dataset_urn, r.minute, r.producer, r.producer_version), r.n)
                    for r in conn.execute(stmt)]

    def _docs(self, stmt: Select[Any]) -> list[Evidence]:
        with self._db.read() as conn:
            return [decode_evidence_doc(doc) for doc in conn.execute(stmt).scalars()]
