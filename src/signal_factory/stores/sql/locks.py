"""Who may do a store's single-writer work: owner locks (one holder per store and name: the signals
stage in single-owner mode, the alert dispatcher) and per-partition locks (the signals stage scaled out).

PostgreSQL: session-level advisory locks on a dedicated connection; they go when the session does
(kill -9, network loss). SQLite file: `flock`s next to the database file (released by the OS when the
process dies). In-memory SQLite: no locks (nobody else can see the store).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, text

from signal_factory.errors import SignalFactoryError
from signal_factory.stores.sql.database import SqlStore

log = logging.getLogger("signal_factory.stores.locks")
LOCK_NAME = "signal-factory:signals"


class OwnerLockLostError(SignalFactoryError):
    """The store's owner lock is gone (its database session died): stop before touching state."""


class OwnerLock(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PgAdvisoryLock:
    """A session-level `pg_advisory_lock` on a dedicated connection, keyed by the store's schema."""

    def __init__(self, store: SqlStore, name: str = LOCK_NAME) -> None:
        self._engine = store.engine
        self._name = name
        self._conn: Connection | None = None
        self._key: int | None = None

    def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._key = int(self._conn.execute(text("SELECT hashtextextended(:n || ':' || current_schema(), 0)"),
                                               {"n": self._name}).scalar_one())
        return bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar_one())

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            return bool(self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
            )).scalar_one())
        except Exception:  # the session is gone, and the lock with it
            log.exception("owner lock check failed")
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class FileLock:
    """An exclusive `flock` on `<sqlite file>.signals.lock` (released by the OS when the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        fh = self.path.open("ab")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class NoLock:
    """In-memory SQLite: nobody else can see the store."""

    def try_acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def owner_lock_for(store: SqlStore, name: str = LOCK_NAME) -> OwnerLock:
    """The store's lock called `name`: a PostgreSQL advisory lock, else a flock next to the SQLite file."""
    url = store.engine.url
    if url.get_backend_name() in ("postgresql", "postgres"):
        return PgAdvisoryLock(store, name)
    if url.database in (None, "", ":memory:"):
        return NoLock()
    suffix = name.rsplit(":", 1)[-1]
    return FileLock(Path(f"{url.database}.{suffix}.lock"))


class PartitionLocks(Protocol):
    """One lock per evidence partition: whoever holds it owns that partition's engines (and snapshot)."""

    def try_acquire(self, topic: str, partition: int) -> bool: ...
    def held(self) -> bool: ...  # every lock taken (and not released) is still held
    def release(self, topic: str, partition: int) -> None: ...
    def close(self) -> None: ...


class PgPartitionLocks:
    """Session-level `pg_try_advisory_lock`s on one dedicated connection, keyed by a hash of the store's
    schema, the evidence topic and the partition. They all go when the session does (kill -9)."""

    def __init__(self, store: SqlStore) -> None:
        self._engine = store.engine
        self._conn: Connection | None = None
        self._keys: dict[tuple[str, int], int] = {}

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def try_acquire(self, topic: str, partition: int) -> bool:
        if (topic, partition) in self._keys:
            return True
        conn = self._connection()
        key = int(conn.execute(
            text("SELECT hashtextextended(:n || ':' || current_schema() || ':' || :t || '/' || :p, 0)"),
            {"n": LOCK_NAME, "t": topic, "p": str(partition)}).scalar_one())
        if not bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()):
            return False
        self._keys[(topic, partition)] = key
        return True

    def held(self) -> bool:
        if not self._keys:
            return True
        if self._conn is None:
            return False
        try:
            held = int(self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
            )).scalar_one())
        except Exception:  # the session is gone, and the locks with it
            log.exception("partition lock check failed")
            return False
        return held >= len(self._keys)

    def release(self, topic: str, partition: int) -> None:
        key = self._keys.pop((topic, partition), None)
        if key is not None and self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    def close(self) -> None:
        for topic, partition in list(self._keys):
            self.release(topic, partition)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class FilePartitionLocks:
    """An exclusive `flock` per partition on `<sqlite file>.signals.<topic>.<partition>.lock`."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._locks: dict[tuple[str, int], FileLock] = {}

    def try_acquire(self, topic: str, partition: int) -> bool:
        if (topic, partition) in self._locks:
            return True
        lock = FileLock(Path(f"{self.database}.signals.{topic}.{partition}.lock"))
        if not lock.try_acquire():
            return False
        self._locks[(topic, partition)] = lock
        return True

    def held(self) -> bool:
        return True

    def release(self, topic: str, partition: int) -> None:
        lock = self._locks.pop((topic, partition), None)
        if lock is not None:
            lock.release()

    def close(self) -> None:
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()


class NoPartitionLocks:
    """In-memory SQLite: nobody else can see the store."""

    def try_acquire(self, topic: str, partition: int) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self, topic: str, partition: int) -> None:
        return None

    def close(self) -> None:
        return None


def partition_locks_for(store: SqlStore) -> PartitionLocks:
    url = store.engine.url
    if url.get_backend_name() in ("postgresql", "postgres"):
        return PgPartitionLocks(store)
    if url.database in (None, "", ":memory:"):
        return NoPartitionLocks()
    return FilePartitionLocks(url.database)
