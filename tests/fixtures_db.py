"""Database fixtures (a pytest plugin, registered from tests/conftest.py).

`postgres_url`: a PostgreSQL database for the session. `SIGNAL_FACTORY_TEST_PG_URL` if set; otherwise
a throwaway server of our own, started from Debian's server binaries (`scripts/ensure-postgres.sh`
installs them) in a temporary folder, on a free 127.0.0.1 port, and stopped at session end. It never
touches a server already running on this machine.

`store`: a fresh, empty store per test, over memory, SQLite and PostgreSQL. `sql_url`: a fresh
database URL per test (SQLite file or PostgreSQL schema), for tests that close and re-open.
PostgreSQL cases carry the `postgres` marker (`-m "not postgres"` skips them and the server).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from signal_factory.stores.memory import MemoryStore
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.database import create_store_engine
from signal_factory.stores.sql.schema import metadata

PG_URL_ENV = "SIGNAL_FACTORY_TEST_PG_URL"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin/initdb"
#: System user that runs the server when the tests run as root (initdb refuses root).
FALLBACK_PG_USER = "signal-factory-pg"
_INSTALL_HINT = (f"no PostgreSQL server binaries ({PG_BIN_GLOB}) on this machine. Fix: run "
                 f"`scripts/ensure-postgres.sh` (or `apt-get install -y postgresql`), or set {PG_URL_ENV}="
                 "postgresql://user:password@host:port/dbname to use a server you run, or deselect these "
                 "tests with -m 'not postgres'")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: tests that run against a PostgreSQL server (started by fixture)")


class TempPostgres:
    """A PostgreSQL server in a temporary folder: initdb, pg_ctl start, CREATE DATABASE; stop and delete."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        """`durable`: commits are written before they are acknowledged (synchronous_commit on), so a
        commit survives `stop_server`; off by default, for speed."""
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="sf-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = _unprivileged_user()
            pw = pwd.getpwnam(user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.run_as = ["runuser", "-u", user, "--"]

    def start(self, dbname: str) -> str:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                  "--no-sync")
        for attempt in range(3):
            self.port = _free_port()
            try:
                self.start_server()
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start_server(self) -> None:
        """Start the (initialised) server on `self.port`; also a restart after `stop_server`."""
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        if not self.durable:
            opts += " -c synchronous_commit=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")

    def stop_server(self) -> None:
        """Stop the server the hard way (`-m immediate`: every connection dropped, as in a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self.run_as, str(self.bindir / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout,
                                                f"{done.stderr}\n--- server log ---\n{log}")


def _pg_bindir() -> Path | None:
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)])
    return found[-1].parent if found else None


def _unprivileged_user() -> str:
    for user in ("postgres", FALLBACK_PG_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return user
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_PG_USER],
                   check=True, capture_output=True)
    return FALLBACK_PG_USER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database URL for the whole session (see the module docstring)."""
    if url := os.environ.get(PG_URL_ENV):
        yield url
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(_INSTALL_HINT, pytrace=False)
    server = TempPostgres(bindir)
    try:
        try:
            url = server.start("signal_factory_test")
        except subprocess.CalledProcessError as e:
            pytest.fail(f"could not start a test PostgreSQL server: {' '.join(e.cmd)} exited {e.returncode}\n"
                        f"{e.stderr}", pytrace=False)
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _pg_admin(postgres_url: str) -> Iterator[Engine]:
    engine = create_store_engine(postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def pg_schema(admin: Engine, postgres_url: str, prefix: str = "sf_test_") -> Iterator[str]:
    """The URL of a new, migrated schema in the session database (so a shared server's data is never
    touched); dropped afterwards."""
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    open_store(url).close()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def _pg_schema_url(postgres_url: str, _pg_admin: Engine) -> Iterator[str]:
    """A schema of our own, migrated once; tests empty it with TRUNCATE, which is much faster than
    migrating again."""
    with pg_schema(_pg_admin, postgres_url) as url:
        yield url


def _fresh_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("_pg_schema_url")
    admin: Engine = request.getfixturevalue("_pg_admin")
    schema = url.rsplit("%3D", 1)[1]
    tables = ", ".join(f'"{schema}"."{t.name}"' for t in metadata.sorted_tables)
    with admin.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    return url


_PG = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.fixture(params=["sqlite", _PG])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated-on-open SQL database (SQLite file or PostgreSQL schema)."""
    return _fresh_url(request.param, request, tmp_path)


@pytest.fixture(params=["memory", "sqlite", _PG])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, empty `Store`; closed after the test."""
    s = MemoryStore() if request.param == "memory" else open_store(_fresh_url(request.param, request, tmp_path))
    try:
        yield s
    finally:
        s.close()
