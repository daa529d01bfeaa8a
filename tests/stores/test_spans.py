"""The kept-span repository on every store (memory, SQLite, PostgreSQL): idempotent writes, the three
lookups the joins use, and retention."""

from __future__ import annotations

from typing import Any

from signal_factory.ingest.otlp.repo import span_repo
from signal_factory.model.spans import ERROR, PRODUCER, SpanRow

T0 = 1_705_312_500_000


def _row(n: int, *, role: str = PRODUCER, status: str = "UNSET", trace: str = "a" * 32, offset: int | None = None,
         start: int = T0) -> SpanRow:
    return SpanRow(trace_id=trace, span_id=f"{n:016x}", role=role, service="orders-svc", operation=f"op {n}",
                   kind="PRODUCER" if role == PRODUCER else "SERVER", status=status, start_ms=start,
                   duration_ms=1.25, topic="raw.orders" if role == PRODUCER else None,
                   partition=2 if role == PRODUCER else None, offset=offset)


def test_spans_round_trip_join_and_purge(store: Any) -> None:
    """Rows come back as written, a second write of the same span is ignored, lookups by trace, position
    and service errors find the right rows, and retention removes spans that started before the cutoff."""
    repo = span_repo(store)
    rows = [_row(1, offset=10), _row(2, offset=11, start=T0 + 5), _row(3, role=ERROR, status="ERROR", start=T0 + 9),
            _row(4, trace="b" * 32, offset=10, start=T0 - 60_000)]
    with store.transaction():
        assert repo.add_many(rows) == 4
    assert repo.add_many(rows[:2]) == 0
    assert repo.by_trace("a" * 32) == rows[:3]
    assert [r.span_id for r in repo.by_position("raw.orders", 2, 10)] == [rows[3].span_id, rows[0].span_id]
    assert repo.by_position("raw.orders", 5, 10) == []
    assert repo.errors_near("orders-svc", T0, T0 + 10) == [rows[2]]
    assert repo.errors_near("orders-svc", T0 + 10, T0 + 20) == []
    assert repo.purge_older_than(T0) == 1
    assert repo.by_trace("b" * 32) == []
