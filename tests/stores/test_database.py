"""open_store: URLs, SQLite settings, errors that say how to fix them, and migrations."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from signal_factory.model.evidence import encode_evidence
from signal_factory.stores.sql import StoreError, open_store
from signal_factory.stores.sql.database import create_store_engine
from signal_factory.stores.sql.migrate import MIGRATIONS, alembic_config, current_revision
from signal_factory.stores.sql.schema import metadata
from tests.stores.builders import evidence


def test_default_is_a_sqlite_file_under_home(tmp_path: Path) -> None:
    """No URL means `<home>/signal-factory.db`, creating the folder; WAL, foreign keys and a busy timeout are on."""
    home = tmp_path / "nested" / ".signal-factory"
    with open_store(home=home) as store:
        assert (home / "signal-factory.db").is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_in_memory_sqlite_is_allowed() -> None:
    """`sqlite://` opens a migrated in-memory database, shared by the store's connections."""
    with open_store("sqlite://") as store:
        store.checkpoints.put("a", 1)
        assert store.checkpoints.get("a") == 1


def test_postgresql_urls_use_psycopg3() -> None:
    """`postgresql://` (and `postgres://`) select the psycopg 3 driver; the password is never shown."""
    for url in ("postgresql://sf:secret@db.example:5432/sf", "postgres://sf:secret@db.example/sf"):
        engine = create_store_engine(url)
        try:
            assert engine.url.drivername == "postgresql+psycopg"
            assert "secret" not in repr(engine.url)
        finally:
            engine.dispose()


def test_unsupported_url_says_what_is_accepted() -> None:
    """A URL for another database names the accepted forms."""
    with pytest.raises(StoreError, match=r"'mysql' is not supported; use sqlite:///"):
        open_store("mysql://localhost/sf")
    with pytest.raises(StoreError, match="is not a database URL"):
        open_store("not a url")


@pytest.mark.postgres
def test_unreachable_server_is_a_store_error() -> None:
    """Nothing listening at the URL gives a StoreError that says what to check, password masked."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    expected = r"cannot open the store at postgresql\+psycopg://sf:\*\*\*@.*refused.*\n  fix: check the URL"
    with pytest.raises(StoreError, match=expected):
        open_store(f"postgresql://sf:secret@127.0.0.1:{port}/sf?connect_timeout=2")


def test_migrations_ship_inside_the_package() -> None:
    """The Alembic environment and revisions sit in the package, so an installed wheel can migrate."""
    assert (MIGRATIONS / "env.py").is_file()
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == "0006"


def test_open_migrates_to_head_and_schema_matches_metadata(sql_url: str) -> None:
    """After open the database is at the head revision and has exactly the tables `schema.py` describes."""
    with open_store(sql_url) as store:
        assert current_revision(store.engine) == "0006"
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_downgrade_to_base_and_back(sql_url: str) -> None:
    """Revision 0001 can be undone and redone (the downgrade path is exercised, not just written)."""
    with open_store(sql_url) as store:
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            assert set(inspect(conn).get_table_names()) >= set(metadata.tables)
            assert conn.execute(text("SELECT count(*) FROM evidence")).scalar() == 0


def test_migration_0005_fills_in_the_coordinates_of_evidence_stored_before_it(sql_url: str) -> None:
    """Evidence written at 0004 (no coordinate columns) is found by its coordinates after the upgrade."""
    ev = evidence("ev-old")
    with open_store(sql_url) as store:
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
            conn.execute(text("INSERT INTO evidence (evidence_id, dataset_urn, event_ms, result, run_id, doc) "
                              "VALUES (:i, :u, 0, 'FAIL', NULL, :d)"),
                         {"i": ev.evidence_id, "u": ev.dataset_urn, "d": encode_evidence(ev).decode()})
            command.upgrade(alembic_config(conn), "head")
        assert [e.evidence_id for e in store.evidence.by_source("raw.orders.events", 0, 1)] == ["ev-old"]


def test_head_revision_from_file_names_is_alembics_head() -> None:
    """The start-up fast path's head (from file names) is the head Alembic would migrate to."""
    from signal_factory.stores.sql.migrate import head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_reopening_a_store_at_head_skips_alembic_and_an_older_one_still_migrates(sql_url: str) -> None:
    """A store already at head opens without running Alembic; one a revision behind is upgraded on open."""
    from signal_factory.stores.sql import migrate

    open_store(sql_url).close()
    engine = create_store_engine(sql_url)
    try:
        assert migrate._at_head(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        assert not migrate._at_head(engine)
    finally:
        engine.dispose()
    open_store(sql_url).close()
    engine = create_store_engine(sql_url)
    try:
        assert current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
