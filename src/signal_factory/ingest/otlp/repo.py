"""`SpanRepo`: the kept spans (`spans.SpanRow`), by trace id, by Kafka position, and error spans of a
service in a time range. SQL table for the SQL store (`stores/sql/spans.py`, same transactions), else
one memory repository per store object (unit tests).

Retention: spans live as long as the evidence they explain -- `signal-factory evidence purge` deletes
spans that started before its cutoff too (`purge_older_than`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Protocol

from signal_factory.model.spans import ERROR, PRODUCER, SpanRow


class SpanRepo(Protocol):
    def add_many(self, rows: Sequence[SpanRow]) -> int:
        """Store rows (ignoring (trace id, span id) pairs already stored); return how many were new."""
        ...

    def by_trace(self, trace_id: str, *, limit: int = 100) -> list[SpanRow]:
        """Kept spans of one trace, earliest first."""
        ...

    def by_position(self, topic: str, partition: int | None, offset: int) -> list[SpanRow]:
        """Producer spans that wrote `offset` of `topic` (any partition when it is None)."""
        ...

    def errors_near(self, service: str, start_ms: int, end_ms: int, *, limit: int = 20) -> list[SpanRow]:
        """Spans of `service` with status ERROR that started in [start_ms, end_ms), earliest first."""
        ...

    def purge_older_than(self, cutoff_ms: int) -> int:
        """Retention: delete spans that started before `cutoff_ms`; return how many."""
        ...


class MemorySpanRepo:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], SpanRow] = {}

    def add_many(self, rows: Sequence[SpanRow]) -> int:
        new = 0
        for row in rows:
            key = (row.trace_id, row.span_id)
            if key not in self.rows:
                self.rows[key] = row
                new += 1
        return new

    def _sorted(self) -> list[SpanRow]:
        return sorted(self.rows.values(), key=lambda r: (r.start_ms, r.span_id))

    def by_trace(self, trace_id: str, *, limit: int = 100) -> list[SpanRow]:
        return [r for r in self._sorted() if r.trace_id == trace_id][:limit]

    def by_position(self, topic: str, partition: int | None, offset: int) -> list[SpanRow]:
        return [r for r in self._sorted() if r.role == PRODUCER and r.topic == topic and r.offset == offset
                and (partition is None or r.partition == partition)]

    def errors_near(self, service: str, start_ms: int, end_ms: int, *, limit: int = 20) -> list[SpanRow]:
        return [r for r in self._sorted() if r.service == service and r.status == "ERROR"
                and start_ms <= r.start_ms < end_ms][:limit]

    def purge_older_than(self, cutoff_ms: int) -> int:
        old = [k for k, r in self.rows.items() if r.start_ms < cutoff_ms]
        for k in old:
            del self.rows[k]
        return len(old)


_MEMORY: weakref.WeakKeyDictionary[object, MemorySpanRepo] = weakref.WeakKeyDictionary()


def span_repo(store: object) -> SpanRepo:
    """The span repository over `store` (see the module docstring)."""
    db = getattr(store, "_db", None)
    if db is not None:
        from signal_factory.stores.sql.spans import SqlSpanRepo  # noqa: PLC0415 - SQL stack only when used

        return SqlSpanRepo(db)
    repo = _MEMORY.get(store)
    if repo is None:
        repo = _MEMORY[store] = MemorySpanRepo()
    return repo


__all__ = ["ERROR", "PRODUCER", "MemorySpanRepo", "SpanRepo", "span_repo"]
