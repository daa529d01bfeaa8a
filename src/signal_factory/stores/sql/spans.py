"""`SpanRepo` on SQL: the kept OTLP spans (`ingest/otlp/spans.SpanRow`), one row each, document as JSON.

The table registers on the shared `schema.metadata` when this module is imported (migration 0004
imports it, so the metadata and the migrations stay one description).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, delete, select

from signal_factory.model.spans import PRODUCER, SpanRow
from signal_factory.stores.sql.schema import metadata
from signal_factory.stores.sql.transactions import Database

otel_span = Table(
    "otel_spans", metadata,
    Column("trace_id", String(), primary_key=True),
    Column("span_id", String(), primary_key=True),
    Column("role", String(), nullable=False),
    Column("service", String(), nullable=False),
    Column("status", String(), nullable=False),
    Column("topic", String()),
    Column("partition", Integer),
    Column("offset", BigInteger),
    Column("start_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
    Index(None, "topic", "offset"),
    Index(None, "service", "start_ms"),
    Index(None, "start_ms"),
)

_COLUMNS = ("trace_id", "span_id", "role", "service", "status", "topic", "partition", "offset", "start_ms", "doc")
#: qmark paramstyle (SQLite) -> the INSERT; else (psycopg) the same with %s.
_QUOTED = ", ".join('"' + c + '"' for c in _COLUMNS)  # "offset" and "partition" are SQL keywords
_INSERT_SQL = {qmark: f"INSERT INTO otel_spans ({_QUOTED}) VALUES ({', '.join([mark] * len(_COLUMNS))}) "
                      "ON CONFLICT DO NOTHING" for qmark, mark in ((True, "?"), (False, "%s"))}
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SpanRow)


class SqlSpanRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_many(self, rows: Sequence[SpanRow]) -> int:
        # Hot path (every kept span; the benchmark's target is 20,000 spans/s): one driver-level
        # executemany of plain tuples. SQLAlchemy's per-row parameter processing cost as much as the
        # decoding. The statement is plain SQL both SQLite (`?`) and psycopg (`%s`) take.
        if not rows:
            return 0
        values = [(r.trace_id, r.span_id, r.role, r.service, r.status, r.topic, r.partition, r.offset, r.start_ms,
                   _encoder.encode(r).decode()) for r in rows]
        with self._db.write() as conn:
            cursor = conn.exec_driver_sql(_INSERT_SQL[conn.dialect.paramstyle == "qmark"], values)
        return max(cursor.rowcount, 0)

    def _rows(self, *where: object, limit: int = 100) -> list[SpanRow]:
        t = otel_span
        query = select(t.c.doc).where(*where).order_by(t.c.start_ms, t.c.span_id).limit(limit)  # type: ignore[arg-type]
        with self._db.read() as conn:
            docs = conn.execute(query).scalars().all()
        return [_decoder.decode(d) for d in docs]

    def by_trace(self, trace_id: str, *, limit: int = 100) -> list[SpanRow]:
        return self._rows(otel_span.c.trace_id == trace_id, limit=limit)

    def by_position(self, topic: str, partition: int | None, offset: int) -> list[SpanRow]:
        t = otel_span
        where = [t.c.role == PRODUCER, t.c.topic == topic, t.c.offset == offset]
        if partition is not None:
            where.append(t.c.partition == partition)
        return self._rows(*where)

    def errors_near(self, service: str, start_ms: int, end_ms: int, *, limit: int = 20) -> list[SpanRow]:
        t = otel_span
        return self._rows(t.c.service == service, t.c.status == "ERROR", t.c.start_ms >= start_ms,
                          t.c.start_ms < end_ms, limit=limit)

    def purge_older_than(self, cutoff_ms: int) -> int:
        with self._db.write() as conn:
            result = conn.execute(delete(otel_span).where(otel_span.c.start_ms < cutoff_ms))
        return max(result.rowcount, 0)
