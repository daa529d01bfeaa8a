"""`SignalRepo` on SQL: emitted signals (append-only by id) and current state per (dataset, engine)."""

from __future__ import annotations

from sqlalchemy import select

from signal_factory.signals.model import Signal, SignalState
from signal_factory.stores.sql.documents import decode_signal_doc, decode_state_doc, encode_doc, to_ms
from signal_factory.stores.sql.schema import signal as sig_t
from signal_factory.stores.sql.schema import signal_state as state_t
from signal_factory.stores.sql.transactions import Database


class SqlSignalRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, signal: Signal) -> bool:
        stmt = self._db.insert(sig_t).on_conflict_do_nothing(index_elements=[sig_t.c.signal_id]).values(
            signal_id=signal.signal_id, signal_type=signal.signal_type, dataset_urn=signal.dataset_urn,
            state=signal.state, ts_ms=to_ms(signal.timestamp), revision=signal.revision,
            provisional=signal.provisional, doc=encode_doc(signal)).returning(sig_t.c.signal_id)
        with self._db.write() as conn:  # RETURNING: SQLAlchemy only promises rowcount for UPDATE/DELETE
            return conn.execute(stmt).scalar() is not None

    def get(self, signal_id: str) -> Signal | None:
        with self._db.read() as conn:
            doc = conn.execute(select(sig_t.c.doc).where(sig_t.c.signal_id == signal_id)).scalar()
        return None if doc is None else decode_signal_doc(doc)

    def put_state(self, state: SignalState) -> None:
        ins = self._db.insert(state_t).values(dataset_urn=state.dataset_urn, state_key=state.state_key,
                                               signal_type=state.signal_type, state=state.state, doc=encode_doc(state))
        stmt = ins.on_conflict_do_update(
            index_elements=[state_t.c.dataset_urn, state_t.c.state_key],
            set_={"signal_type": ins.excluded.signal_type, "state": ins.excluded.state, "doc": ins.excluded.doc})
        with self._db.write() as conn:
            conn.execute(stmt)

    def get_state(self, dataset_urn: str, state_key: str) -> SignalState | None:
        stmt = select(state_t.c.doc).where(state_t.c.dataset_urn == dataset_urn, state_t.c.state_key == state_key)
        with self._db.read() as conn:
            doc = conn.execute(stmt).scalar()
        return None if doc is None else decode_state_doc(doc)

    def states(self, dataset_urn: str | None = None) -> list[SignalState]:
        """By dataset URN, then state key."""
        stmt = select(state_t.c.doc).order_by(state_t.c.dataset_urn, state_t.c.state_key)
        if dataset_urn is not None:
            stmt = stmt.where(state_t.c.dataset_urn == dataset_urn)
        with self._db.read() as conn:
            return [decode_state_doc(doc) for doc in conn.execute(stmt).scalars()]

    def list(self, *, dataset_urn: str | None = None, signal_type: str | None = None, since_ms: int | None = None,
             limit: int = 100) -> list[Signal]:
        """Newest first: by timestamp, then revision, then signal id (all descending); `since_ms` inclusive."""
        stmt = select(sig_t.c.doc)
        if dataset_urn is not None:
            stmt = stmt.where(sig_t.c.dataset_urn == dataset_urn)
        if signal_type is not None:
            stmt = stmt.where(sig_t.c.signal_type == signal_type)
        if since_ms is not None:
            stmt = stmt.where(sig_t.c.ts_ms >= since_ms)
        stmt = stmt.order_by(sig_t.c.ts_ms.desc(), sig_t.c.revision.desc(), sig_t.c.signal_id.desc()).limit(limit)
        with self._db.read() as conn:
            return [decode_signal_doc(doc) for doc in conn.execute(stmt).scalars()]
