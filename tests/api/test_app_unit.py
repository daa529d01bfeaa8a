"""In-process checks of the app factory and the service's small pure helpers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from signal_factory.api.app import create_app
from signal_factory.api.problems import BadRequestError
from signal_factory.api.service import body_items, worst_state
from signal_factory.signals.model import SignalState
from tests.api.conftest import start_server, stop_server
from tests.conftest import EXAMPLE


def _state(state: str) -> SignalState:
    return SignalState(dataset_urn="urn:dp:a:b", state_key="k", signal_type="T", state=state, last_updated="x")


@pytest.mark.parametrize(("states", "worst"), [
    ([], "UNKNOWN"), (["OK"], "OK"), (["OK", "UNKNOWN"], "UNKNOWN"), (["WARNING", "OK"], "WARNING"),
    (["OK", "CRITICAL", "WARNING"], "CRITICAL"),
])
def test_worst_state_order(states: list[str], worst: str) -> None:
    """OK < UNKNOWN < WARNING < CRITICAL, UNKNOWN when there is no state."""
    assert worst_state([_state(s) for s in states]) == worst


def test_body_items_reads_arrays_and_lines() -> None:
    """A JSON array and JSON lines give the same documents; an empty or broken body is a BadRequestError."""
    assert [d for _, d in body_items(b'[{"a":1},{"b":2}]', "x")] == [b'{"a":1}', b'{"b":2}']
    assert [w for w, _ in body_items(b'{"a":1}\n\n{"b":2}\n', "x")] == ["line 1", "line 3"]
    for bad in (b"", b"[1, "):
        with pytest.raises(BadRequestError):
            list(body_items(bad, "records"))


def test_create_app_does_nothing_until_started(tmp_path: Path) -> None:
    """Building the app opens nothing; the store opens at startup; without UI files a page says so."""
    home = tmp_path / "home"
    create_app(EXAMPLE, None, home=home)
    assert not home.exists()
    server, thread, base = start_server(None, home, static_dir=tmp_path / "no-ui")
    try:
        assert (home / "signal-factory.db").exists()
        r = httpx.get(f"{base}/incidents/INC-1", timeout=10)
        assert r.status_code == 200
        assert "UI assets are missing" in r.text
    finally:
        stop_server(server, thread)


def test_static_files_are_served_and_traversal_is_not(tmp_path: Path) -> None:
    """Files in the static folder are served as they are; `..` never leaves it."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>Signal Factory</title>INDEX")
    (static / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("SECRET")
    server, thread, base = start_server(None, tmp_path, static_dir=static)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/app.js").text == "console.log(1)"
            assert "INDEX" in client.get("/lineage").text
            assert "SECRET" not in client.get("/%2e%2e/secret.txt").text
            assert "SECRET" not in client.get("/..%2fsecret.txt").text
    finally:
        stop_server(server, thread)


def test_a_store_failure_is_a_503_problem_without_sql(scenario1_db: Path, tmp_path: Path) -> None:
    """The database failing under a request is a 503 problem+json with its one-line reason, no SQL, no values."""
    import shutil
    import sqlite3

    db = tmp_path / "broken.db"
    shutil.copy(scenario1_db, db)
    server, thread, base = start_server(db, tmp_path)
    try:
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE evidence_reason")
            conn.execute("DROP TABLE evidence")
        r = httpx.get(f"{base}/api/v1/evidence", params={"dataset": "urn:dp:orders:created"}, timeout=10)
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "5"
        detail = r.json()["detail"]
        assert detail.startswith("the database failed (OperationalError: no such table: evidence)")
        assert "SELECT" not in detail
        assert "urn:dp:orders:created" not in detail
    finally:
        stop_server(server, thread)


def test_a_bug_answers_problem_json_without_the_requests_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """An unexpected exception is a problem+json 500 with an error id, never a plain-text page, and neither
    the answer nor the log repeats the exception's message (it may quote a record's value)."""
    from signal_factory.api.service import ApiService

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("value 123-45-6789 from the request")

    monkeypatch.setattr(ApiService, "datasets", broken)
    server, thread, base = start_server(None, tmp_path / "home")
    try:
        with caplog.at_level("ERROR", logger="signal_factory.api.errorboundary"):
            r = httpx.get(f"{base}/api/v1/datasets", timeout=10)
    finally:
        stop_server(server, thread)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 500
    assert body["error_id"].startswith("err-")
    assert "123-45-6789" not in r.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert body["error_id"] in logged
    assert "RuntimeError" in logged
    assert "broken" in logged  # where it happened
    assert "123-45-6789" not in logged
