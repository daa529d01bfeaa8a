"""One engine, and the transaction the current context (thread or task) is in.

Repository calls made inside `Database.transaction()` join its connection, so a unit of work
(evidence + tallies + checkpoint) commits or rolls back as one. Outside a transaction each call runs
in a short transaction of its own and commits on return. Nested `transaction()` blocks join the
outermost one: nothing commits until it ends, and an exception leaving any of them rolls back all.

On SQLite, SQLAlchemy emits BEGIN itself (the driver's implicit BEGIN is switched off), so reads
inside a transaction see one snapshot; writers start with BEGIN IMMEDIATE, taking the write lock up
front instead of failing to upgrade a read lock later (`busy_timeout` makes them wait their turn).

A database error leaving the outermost block (server stopped, connection lost, a statement refused)
becomes `StoreFailedError`, whose message is the driver's first line: no SQL, no parameter values
(the engines are also created with `hide_parameters`, so not even the chained error carries them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError

from signal_factory.errors import StoreFailedError

_BEGIN_OPTION = "signal_factory_begin"
#: The longest driver message quoted in a `StoreFailedError`.
REASON_CHARS = 200
_QUOTED = re.compile(r'"[^"]*"')


def failure_reason(e: DBAPIError) -> str:
    """`Kind: first line` of the driver's error (e.g. `OperationalError: server closed the connection
    unexpectedly`). The lines after the first (psycopg's DETAIL, which can quote a row's values) and the
    statement are left out, and so are quoted values in a data error's first line (PostgreSQL's
    `invalid input syntax for type json: "..."` quotes the value it refused)."""
    orig = e.orig
    text = str(orig) if orig is not None else ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if isinstance(e, DataError):
        first = _QUOTED.sub('"…"', first)
    if len(first) > REASON_CHARS:
        first = first[:REASON_CHARS - 1] + "…"
    kind = type(orig).__name__ if orig is not None else type(e).__name__
    return f"{kind}: {first}" if first else kind


@contextmanager
def _store_failures() -> Iterator[None]:
    try:
        yield
    except DBAPIError as e:
        raise StoreFailedError(failure_reason(e)) from e


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if self.dialect == "sqlite" else engine
        self._current: ContextVar[Connection | None] = ContextVar(f"signal_factory_tx_{id(self)}", default=None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        conn = self._current.get()
        if conn is not None:
            yield conn
            return
        with _store_failures(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        conn = self._current.get()
        if conn is not None:
            yield conn
            return
        with _store_failures(), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._current.get() is not None:
            yield
            return
        with _store_failures(), self._writer.begin() as conn:
            token = self._current.set(conn)
            try:
                yield
            finally:
                self._current.reset(token)

    def insert(self, table: Table) -> Any:
        """The dialect's own INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
        make: Callable[[Table], Any] = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        return make(table)


def sqlite_begin(conn: Connection) -> None:
    """`begin` event for SQLite engines: emit BEGIN (IMMEDIATE for writers) ourselves."""
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())
