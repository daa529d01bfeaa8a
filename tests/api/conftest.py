"""Real API servers for HTTP tests (and the UI's browser tests): Scenario 1 replayed into a SQLite
store, the real app on uvicorn at 127.0.0.1:<free port> in a background thread.

`api_server`: the base URL (str) of a read-only server (no token), one per session; never write to it.
`api_server_token`: `(base URL, token)` of a server accepting writes, over a fresh copy of the database
per test.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from signal_factory.api.app import create_app
from signal_factory.api.events import ChangeFeed
from signal_factory.api.server import ApiServer
from signal_factory.api.session import Users, hash_password
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql.database import open_store
from tests.api.browser import browser, ui  # noqa: F401  (fixtures of the browser tests)
from tests.conftest import EXAMPLE

API_TOKEN = "test-token-5f1c"
SCENARIO1 = EXAMPLE / "scenario1"


@pytest.fixture(scope="session")
def scenario1_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding Scenario 1 replayed with its deployment markers (copy it before writing)."""
    path = tmp_path_factory.mktemp("api-db") / "scenario1.db"
    cp = load_control_plane(EXAMPLE)
    store = open_store(f"sqlite:///{path}")
    try:
        ReplayService(cp, store, Enforcer(cp)).replay([SCENARIO1 / "traffic.jsonl"],
                                                      deployments=[SCENARIO1 / "deployments.jsonl"])
    finally:
        store.close()
    return path


def start_server(db_path: Path | None, home: Path, token: str | None = None,
                 static_dir: Path | None = None, config_dir: Path = EXAMPLE,
                 users: Users | None = None) -> tuple[ApiServer, threading.Thread, str]:
    """The real app (store `db_path`, or the default SQLite file under `home`; control plane `config_dir`)
    on uvicorn on a free port, in a daemon thread; returns once it accepts connections."""
    feed = ChangeFeed(interval_s=0.2, ping_s=15.0, tick_s=0.05)
    db_url = f"sqlite:///{db_path}" if db_path is not None else None
    app = create_app(config_dir, db_url, token=token, max_body_bytes=64_000, home=home, feed=feed,
                     static_dir=static_dir, users=users)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level="warning",
                            timeout_graceful_shutdown=5)
    server = ApiServer(config, on_shutdown=feed.stop)
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.stop()
            thread.join(5)
            raise RuntimeError("the API server did not start (see the log above)")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{server.port}"


def stop_server(server: ApiServer, thread: threading.Thread) -> None:
    server.stop()
    thread.join(15)
    assert not thread.is_alive(), "the API server did not shut down"


def _copy_db(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    return dst


@pytest.fixture(scope="session")
def api_server(scenario1_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Read-only server over Scenario 1 (shared by the session: read through it, never write)."""
    home = tmp_path_factory.mktemp("api-home")
    db = _copy_db(scenario1_db, home)
    server, thread, url = start_server(db, home)
    try:
        yield url
    finally:
        stop_server(server, thread)


@pytest.fixture
def api_server_token(scenario1_db: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Writable server (Bearer `API_TOKEN`) over a fresh copy of Scenario 1, per test."""
    db = _copy_db(scenario1_db, tmp_path)
    server, thread, url = start_server(db, tmp_path, token=API_TOKEN)
    try:
        yield url, API_TOKEN
    finally:
        stop_server(server, thread)


USERS = {"alice": "correct horse battery", "bob": "staple paperclip 42"}


@pytest.fixture(scope="session")
def team_users() -> Users:
    """Two named users (hashing is slow on purpose: once per session)."""
    return Users({name: hash_password(pw) for name, pw in USERS.items()})


@pytest.fixture
def api_server_team(scenario1_db: Path, tmp_path: Path, team_users: Users) -> Iterator[str]:
    """Server over a fresh copy of Scenario 1 with named sign-in and no API token."""
    db = _copy_db(scenario1_db, tmp_path)
    server, thread, url = start_server(db, tmp_path, users=team_users)
    try:
        yield url
    finally:
        stop_server(server, thread)
