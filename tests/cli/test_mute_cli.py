"""`signal-factory mute` as an on-call engineer runs it, against a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from signal_factory.stores.sql.database import open_store
from tests.cli.test_cli import _run


def test_mute_add_list_cancel(tmp_path: Path) -> None:
    """add prints the mute; list --json shows it active; cancel ends it; a bad duration is a clear error."""
    db = f"sqlite:///{tmp_path}/sf.db"
    open_store(db).close()
    added = _run(["mute", "add", "--dataset", "urn:dp:orders:created", "--for", "2h", "--reason", "backfill",
                  "--by", "alice", "--db", db, "--json"], cwd=tmp_path)
    assert added.returncode == 0, added.stderr.decode()
    mute = json.loads(added.stdout)
    assert (mute["kind"], mute["target"], mute["created_by"]) == ("dataset", "urn:dp:orders:created", "alice")
    listed = [json.loads(x) for x in _run(["mute", "list", "--db", db, "--json"], cwd=tmp_path).stdout.splitlines()]
    assert [m["mute_id"] for m in listed] == [mute["mute_id"]]
    assert _run(["mute", "cancel", mute["mute_id"], "--db", db], cwd=tmp_path).returncode == 0
    assert _run(["mute", "list", "--db", db, "--json"], cwd=tmp_path).stdout.strip() == b""
    bad = _run(["mute", "add", "--signature", "S", "--for", "soon", "--reason", "r", "--db", db], cwd=tmp_path)
    assert bad.returncode == 1
    assert "not a duration" in bad.stderr.decode()
    assert "Traceback" not in bad.stderr.decode()


def test_users_hash_makes_a_hash_that_signs_in(tmp_path: Path) -> None:
    """`users hash --stdin` prints a scrypt hash that checks the password and a users.yaml loads it."""
    from signal_factory.api.session import check_password, load_users

    done = _run(["users", "hash", "--stdin"], stdin=b"correct horse battery\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    stored = done.stdout.decode().strip()
    assert check_password("correct horse battery", stored)
    assert b"correct horse" not in done.stdout
    (tmp_path / "users.yaml").write_text(f"users:\n  - name: alice\n    password_hash: '{stored}'\n")
    assert load_users(tmp_path / "users.yaml").check("alice", "correct horse battery")
    short = _run(["users", "hash", "--stdin"], stdin=b"short\n", cwd=tmp_path)
    assert short.returncode == 1
    assert "12 characters" in short.stderr.decode()
