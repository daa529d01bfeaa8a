"""`CheckpointRepo` on SQL: input positions and named state blobs, upserted by key."""

from __future__ import annotations

from sqlalchemy import select, update

from signal_factory.stores.sql.schema import checkpoint as cp_t
from signal_factory.stores.sql.schema import state_blob as blob_t
from signal_factory.stores.sql.transactions import Database


class SqlCheckpointRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, source_key: str) -> int | None:
        with self._db.read() as conn:
            position: int | None = conn.execute(
                select(cp_t.c.position).where(cp_t.c.source_key == source_key)).scalar()
        return position

    def put(self, source_key: str, position: int) -> None:
        ins = self._db.insert(cp_t).values(source_key=source_key, position=position)
        stmt = ins.on_conflict_do_update(index_elements=[cp_t.c.source_key], set_={"position": ins.excluded.position})
        with self._db.write() as conn:
            conn.execute(stmt)

    def claim(self, key: str) -> int:
        """Move the fencing epoch `key` on by one and return the new epoch. Waits (PostgreSQL) while a
        transaction that checked the old epoch with `holds` is still open."""
        ins = self._db.insert(cp_t).values(source_key=key, position=1)
        stmt = ins.on_conflict_do_update(index_elements=[cp_t.c.source_key],
                                         set_={"position": cp_t.c.position + 1}).returning(cp_t.c.position)
        with self._db.write() as conn:
            return int(conn.execute(stmt).scalar_one())

    def holds(self, key: str, epoch: int) -> bool:
        """In the caller's transaction: is `epoch` still the current one? The no-op update takes the row's
        lock, so a `claim` by a new owner waits until this transaction ends, and this one, if it is late,
        sees the new epoch and must roll back (a fencing token, for a zombie that lost its lock)."""
        stmt = (update(cp_t).where(cp_t.c.source_key == key, cp_t.c.position == epoch)
                .values(position=cp_t.c.position))
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def load_state(self, name: str) -> bytes | None:
        with self._db.read() as conn:
            blob = conn.execute(select(blob_t.c.blob).where(blob_t.c.name == name)).scalar()
        return None if blob is None else bytes(blob)

    def states_named(self, prefix: str) -> list[tuple[str, bytes]]:
        stmt = (select(blob_t.c.name, blob_t.c.blob).where(blob_t.c.name.startswith(prefix, autoescape=True))
                .order_by(blob_t.c.name))
        with self._db.read() as conn:
            return [(name, bytes(blob)) for name, blob in conn.execute(stmt)]

    def save_state(self, name: str, blob: bytes) -> None:
        ins = self._db.insert(blob_t).values(name=name, blob=blob)
        stmt = ins.on_conflict_do_update(index_elements=[blob_t.c.name], set_={"blob": ins.excluded.blob})
        with self._db.write() as conn:
            conn.execute(stmt)
