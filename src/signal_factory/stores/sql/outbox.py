"""`OutboxRepo` on SQL: notifications waiting to be sent, with their delivery state in columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, update

from signal_factory.model.incidents import Notification
from signal_factory.stores.sql.documents import decode_notification_doc, encode_doc
from signal_factory.stores.sql.schema import outbox as out_t
from signal_factory.stores.sql.transactions import Database

PENDING = "PENDING"
SENT = "SENT"
DEAD = "DEAD"
MUTED = "MUTED"

_COLUMNS = (out_t.c.doc, out_t.c.status, out_t.c.attempts, out_t.c.next_attempt_at, out_t.c.last_error)


class SqlOutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(self, notification: Notification) -> None:
        n = notification
        stmt = self._db.insert(out_t).on_conflict_do_nothing(index_elements=[out_t.c.notification_id]).values(
            notification_id=n.notification_id, status=n.status, attempts=n.attempts,
            next_attempt_at=n.next_attempt_at, last_error=n.last_error, doc=encode_doc(n))
        with self._db.write() as conn:
            conn.execute(stmt)

    def due(self, now_s: float, limit: int = 100) -> list[Notification]:
        """PENDING with next_attempt_at <= now_s; by next_attempt_at, then enqueue order."""
        stmt = (select(*_COLUMNS).where(out_t.c.status == PENDING, out_t.c.next_attempt_at <= now_s)
                .order_by(out_t.c.next_attempt_at, out_t.c.seq).limit(limit))
        return self._fetch(stmt)

    def mark_sent(self, notification_id: str, attempts: int) -> None:
        """Unknown ids are ignored (as for `mark_failed`)."""
        self._update(notification_id, status=SENT, attempts=attempts)

    def mark_failed(self, notification_id: str, attempts: int, next_attempt_at: float, error: str,
                    dead: bool = False) -> None:
        """Back to PENDING for a retry at `next_attempt_at`, or DEAD when `dead`."""
        self._update(notification_id, status=DEAD if dead else PENDING, attempts=attempts,
                     next_attempt_at=next_attempt_at, last_error=error)

    def mark_muted(self, notification_id: str, why: str) -> None:
        self._update(notification_id, status=MUTED, last_error=why)

    def _update(self, notification_id: str, **values: object) -> None:
        with self._db.write() as conn:
            conn.execute(update(out_t).where(out_t.c.notification_id == notification_id).values(**values))

    def _fetch(self, stmt: Select[Any]) -> list[Notification]:
        with self._db.read() as conn:
            return [decode_notification_doc(*row) for row in conn.execute(stmt)]

    def list(self, *, status: str | None = None, limit: int = 100) -> list[Notification]:
        """In enqueue order (oldest first)."""
        stmt = select(*_COLUMNS)
        if status is not None:
            stmt = stmt.where(out_t.c.status == status)
        return self._fetch(stmt.order_by(out_t.c.seq).limit(limit))
