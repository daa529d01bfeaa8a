"""Alembic migrations shipped in the package, run programmatically (no alembic.ini needed).

To write the next revision: change `schema.py`, then
`.venv/bin/python -m signal_factory.stores.sql.revision 0002 "what changed"` against a scratch
SQLite database at head; edit the generated file until `tests/stores/test_migrations.py` passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

#: The folder with env.py and versions/ (package data: see pyproject's [tool.setuptools.package-data]).
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key: processes opening the same database migrate one at a time.
_PG_MIGRATION_LOCK = 0x5F_5F_AC_70


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic loads only when a migration may run

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision id, from the file names (`NNNN_what.py`, the rule `revision.py` writes by);
    a test holds it equal to Alembic's own head."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head(engine: Engine) -> bool:
    """Is the database already at head? One plain query, so opening a migrated store (every CLI command)
    does not import Alembic (~0.4 s of start-up)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return rows == [head_revision()]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` in one transaction (a no-op when it is already there)."""
    if revision == "head" and _at_head(engine):
        return
    from alembic import command  # noqa: PLC0415 - see _at_head

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - only this helper needs it

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
