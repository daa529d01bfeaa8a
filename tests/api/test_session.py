"""Named sign-in: a user signs in with a password, acts without the API token, and is recorded by name;
forged, expired or cross-site (no X-SF-Request header) sessions write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from signal_factory.api.session import COOKIE, Sessions, Users, check_password, hash_password, load_users
from signal_factory.errors import ConfigError
from tests.api.conftest import USERS

CSRF = {"X-SF-Request": "1"}


@contextmanager
def _signed_in(base: str, name: str) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=base, timeout=10)
    r = client.post("/api/v1/session", json={"name": name, "password": USERS[name]})
    assert r.status_code == 204, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    try:
        yield client
    finally:
        client.close()


def test_signed_in_user_acks_and_is_the_recorded_actor(api_server_team: str) -> None:
    """alice signs in, acknowledges INC-1 typing someone else's name: the incident records alice."""
    with _signed_in(api_server_team, "alice") as c:
        assert c.get("/api/v1/session").json()["user"] == "alice"
        r = c.post("/api/v1/incidents/INC-1/ack", json={"by": "mallory"}, headers=CSRF)
        assert r.status_code == 200, r.text
        assert r.json()["acknowledged_by"] == "alice"
        assert r.json()["activity"][-1]["actor"] == "alice"
        done = c.post("/api/v1/incidents/INC-1/resolve", json={"note": "rolled back"}, headers=CSRF).json()
        assert [(a["actor"], a["action"]) for a in done["activity"]] == [("alice", "acknowledged"),
                                                                         ("alice", "resolved")]
        assert c.delete("/api/v1/session").status_code == 204


def test_no_session_no_csrf_header_or_forged_cookie_writes_nothing(api_server_team: str) -> None:
    """Without the header (a cross-site form), with a forged cookie, or signed out: 401, INC-1 stays OPEN."""
    with _signed_in(api_server_team, "bob") as c:
        assert c.post("/api/v1/incidents/INC-1/ack", json={}).status_code == 401  # no X-SF-Request
    forged = Sessions(b"another key").issue("bob")[0]
    r = httpx.post(f"{api_server_team}/api/v1/incidents/INC-1/ack", json={}, headers=CSRF,
                   cookies={COOKIE: forged}, timeout=10)
    assert r.status_code == 401
    wrong = httpx.post(f"{api_server_team}/api/v1/session", json={"name": "bob", "password": "guess"}, timeout=10)
    assert wrong.status_code == 401
    assert httpx.get(f"{api_server_team}/api/v1/incidents/INC-1", timeout=10).json()["status"] == "OPEN"


def test_sessions_expire_and_hashes_verify() -> None:
    """A cookie past its 12 h is no session; a hash checks only its own password."""
    now = [1_000_000.0]
    sessions = Sessions(b"k" * 32, clock=lambda: now[0])
    cookie, _ = sessions.issue("alice")
    assert sessions.user(cookie) == "alice"
    now[0] += 12 * 3600
    assert sessions.user(cookie) is None
    stored = hash_password("correct horse battery")
    assert check_password("correct horse battery", stored)
    assert not check_password("correct horse batterY", stored)
    assert not Users({"alice": stored}).check("eve", "correct horse battery")


@pytest.mark.parametrize(("text", "says"), [
    ("users: []", "no `users:` list"),
    ("users: [{name: alice}]", "needs `name` and `password_hash`"),
    ("users: [{name: alice, password_hash: hunter2}]", "not a scrypt hash"),
])
def test_bad_users_file_names_the_fix(tmp_path: Path, text: str, says: str) -> None:
    """A users.yaml without users, without a hash, or with a plain password is refused with the fix."""
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says):
        load_users(path)
