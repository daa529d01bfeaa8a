"""Alembic migrations shipped in the package, run programmatically (no alembic.ini needed).

To write the next revision: change `schema.py`, then
`.venv/bin/python -m signal_factory.stores.sql.revision 0002 "what changed"` against a scratch
SQLite database at head; edit the generated file until `tests/stores/test_migrations.py` passes.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

#: The folder with env.py and versions/ (package data: see pyproject's [tool.setuptools.package-data]).
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key: processes opening the same database migrate one at a time.
_PG_MIGRATION_LOCK = 0x5F_5F_AC_70


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` in one transaction (a no-op when it is already there)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - only this helper needs it

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
