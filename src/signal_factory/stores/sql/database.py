"""`open_store(url)`: the SQL `Store` on SQLite (default, one file) or PostgreSQL (psycopg 3).

    store = open_store()                                   # .signal-factory/signal-factory.db
    store = open_store("postgresql://user:pw@host/dbname")  # runs migrations to head on open
    with store.transaction():                               # one unit of work, all or nothing
        new_ids = store.evidence.add_many(batch.evidence, batch.tallies)
        store.checkpoints.put("orders.jsonl", line_no)
    store.close()
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from signal_factory.errors import SignalFactoryError
from signal_factory.graph.ports import GraphStore
from signal_factory.stores.ports import CheckpointRepo, EvidenceRepo, IncidentRepo, OutboxRepo, SignalRepo
from signal_factory.stores.sql.checkpoints import SqlCheckpointRepo
from signal_factory.stores.sql.evidence import SqlEvidenceRepo
from signal_factory.stores.sql.graph import SqlGraphStore
from signal_factory.stores.sql.incidents import SqlIncidentRepo
from signal_factory.stores.sql.migrate import upgrade
from signal_factory.stores.sql.openlineage import SqlCatalogRepo, SqlRunRepo
from signal_factory.stores.sql.outbox import SqlOutboxRepo
from signal_factory.stores.sql.signals import SqlSignalRepo
from signal_factory.stores.sql.transactions import Database, sqlite_begin

DB_FILE = "signal-factory.db"
#: How long a SQLite writer waits for another one's lock before failing ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 10_000
_URL_HELP = "use sqlite:///path/to/file.db, sqlite:// (in memory) or postgresql://user:password@host:5432/dbname"


class StoreError(SignalFactoryError):
    """The store's database URL is wrong or its database cannot be reached."""


class SqlStore:
    """All repositories over one SQLAlchemy engine (see the module docstring for use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        db = Database(engine)
        self._db = db
        self.evidence: EvidenceRepo = SqlEvidenceRepo(db)
        self.signals: SignalRepo = SqlSignalRepo(db)
        self.incidents: IncidentRepo = SqlIncidentRepo(db)
        self.outbox: OutboxRepo = SqlOutboxRepo(db)
        self.checkpoints: CheckpointRepo = SqlCheckpointRepo(db)
        self.graph: GraphStore = SqlGraphStore(db)
        #: OpenLineage runs (`ingest.openlineage.runs.run_repo` finds them here).
        self.lineage_runs = SqlRunRepo(db)
        #: OpenLineage jobs and datasets with their facets (`ingest.openlineage.catalog.catalog_repo`).
        self.lineage_catalog = SqlCatalogRepo(db)

    @property
    def url(self) -> str:
        """The database URL, password masked (safe to print)."""
        return self.engine.url.render_as_string(hide_password=True)

    def transaction(self) -> AbstractContextManager[None]:
        """One database transaction that every repository call in this thread/task joins until the block
        ends: commit on normal exit, rollback if an exception leaves it. Nested blocks join the outer one."""
        return self._db.transaction()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"


def open_store(url: str | None = None, *, home: Path = Path(".signal-factory")) -> SqlStore:
    """Open (creating and migrating to head as needed) the store at `url`; None means the SQLite file
    `home/signal-factory.db`. `postgresql://` URLs use psycopg 3."""
    engine = create_store_engine(url, home=home)
    try:
        upgrade(engine)
    except OperationalError as e:
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        reason = " ".join(str(e.orig).split())
        raise StoreError(f"cannot open the store at {shown}: {reason}\n  fix: check the URL, that the server "
                         f"is running and that the user may create tables ({_URL_HELP})") from e
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine)


def create_store_engine(url: str | None = None, *, home: Path = Path(".signal-factory")) -> Engine:
    """The engine `open_store` uses, configured but not migrated."""
    if url is None:
        home.mkdir(parents=True, exist_ok=True)
        parsed = URL.create("sqlite", database=str(home / DB_FILE))
    else:
        try:
            parsed = make_url(url)
        except ArgumentError as e:
            raise StoreError(f"store URL {url!r} is not a database URL; {_URL_HELP}") from e
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        _quiet_teardown_noise()
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
        except ImportError as e:
            raise StoreError(f"no driver for {parsed.drivername}: {e}; fix: pip install 'psycopg[binary]>=3.1'") from e
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    raise StoreError(f"store URL scheme {parsed.drivername!r} is not supported; {_URL_HELP}")


def _teardown_noise(record: logging.LogRecord) -> bool:
    """psycopg warns "error ignored terminating <Pipeline>: the connection is lost" while unwinding from a
    failure that is already being raised (and reported as one StoreFailedError line): drop that echo."""
    return not str(record.msg).startswith("error ignored terminating")


def _quiet_teardown_noise() -> None:
    logger = logging.getLogger("psycopg")
    if _teardown_noise not in logger.filters:
        logger.addFilter(_teardown_noise)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {}
    if in_memory:
        # One connection shared by every thread, so the whole process sees the same in-memory database.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, hide_parameters=True, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver's implicit BEGIN is off: `sqlite_begin` emits it
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cur.execute("PRAGMA journal_mode = WAL")  # readers never block the writer, nor it them
        finally:
            cur.close()

    event.listen(engine, "begin", sqlite_begin)
    return engine
