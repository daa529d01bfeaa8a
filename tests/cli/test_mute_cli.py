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
