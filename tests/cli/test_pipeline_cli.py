"""`replay`, `signals` and `incidents` as a user runs them, against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from signal_factory.stores.sql.database import open_store
from tests.cli.test_cli import _run
from tests.conftest import EXAMPLE


def test_replay_then_query_then_ack_and_resolve(tmp_path: Path) -> None:
    """replay prints the SEV-1 incident; signals/incidents read it back; ack and resolve move its status."""
    db = f"sqlite:///{tmp_path}/sf.db"
    proc = _run(["replay", "--config", str(EXAMPLE), "--db", db, "--no-send",
                 str(EXAMPLE / "scenario1/traffic.jsonl")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    shown = proc.stdout.decode()
    assert "Contract Violation - orders:created - MISSING_FIELD:customer_id" in shown
    assert "SEV-1" in shown
    assert "89.8%" in shown

    signals = [json.loads(x) for x in _run(["signals", "--db", db, "--type", "CONTRACT_BREACH", "--json"],
                                           cwd=tmp_path).stdout.decode().splitlines()]
    # newest first: the final window signal, then the provisional ones that tracked the worsening rate
    assert (signals[0]["state"], signals[0].get("provisional", False)) == ("CRITICAL", False)
    provisional = signals[1:]
    assert 1 <= len(provisional) <= 6
    assert all(s["provisional"] and s["state"] == "CRITICAL" for s in provisional)
    assert signals[0]["metrics"]["evidence_count"] == 1247

    (incident,) = [json.loads(x) for x in _run(["incidents", "list", "--db", db, "--json"],
                                               cwd=tmp_path).stdout.decode().splitlines()]
    assert (incident["incident_id"], incident["status"]) == ("INC-1", "OPEN")

    acked = _run(["incidents", "ack", "INC-1", "--db", db, "--config", str(EXAMPLE), "--by", "jane", "--json"],
                 cwd=tmp_path)
    assert acked.returncode == 0, acked.stderr.decode()
    assert json.loads(acked.stdout)["status"] == "ACKNOWLEDGED"
    done = _run(["incidents", "resolve", "INC-1", "--db", db, "--config", str(EXAMPLE), "--note", "rolled back",
                 "--json"], cwd=tmp_path)
    assert json.loads(done.stdout)["status"] == "RESOLVED"
    again = _run(["incidents", "ack", "INC-1", "--db", db, "--config", str(EXAMPLE)], cwd=tmp_path)
    assert again.returncode == 1
    assert "Traceback" not in again.stderr.decode()


def test_unknown_incident_and_bad_since_are_messages(tmp_path: Path) -> None:
    """Asking for a missing incident or a malformed --since explains itself, exit 1, no traceback."""
    db = f"sqlite:///{tmp_path}/sf.db"
    open_store(db).close()  # an empty store: the incident, not the store, is what is missing
    missing = _run(["incidents", "show", "INC-404", "--db", db], cwd=tmp_path)
    assert missing.returncode == 1
    assert "incidents list" in missing.stderr.decode()
    bad = _run(["signals", "--db", db, "--since", "last tuesday"], cwd=tmp_path)
    assert bad.returncode == 1
    assert "ISO-8601" in bad.stderr.decode()


def test_evidence_queries_and_retention(tmp_path: Path) -> None:
    """Evidence is found by id, dataset+time, signature (first/last seen) and purged by retention."""
    db = f"sqlite:///{tmp_path}/sf.db"
    assert _run(["replay", "--config", str(EXAMPLE), "--db", db, "--no-send",
                 str(EXAMPLE / "scenario1/traffic.jsonl")], cwd=tmp_path).returncode == 0
    window = ["evidence", "query", "--db", db, "--dataset", "urn:dp:orders:created", "--since",
              "2024-01-15T09:58:02Z", "--until", "2024-01-15T09:58:03Z", "--result", "FAIL", "--json"]
    rows = [json.loads(x) for x in _run(window, cwd=tmp_path).stdout.decode().splitlines()]
    assert rows
    assert rows[0]["source"]["offset"] == 9918273
    shown = _run(["evidence", "show", rows[0]["evidence_id"], "--db", db], cwd=tmp_path)
    assert json.loads(shown.stdout)["validation"]["reason_codes"] == ["MISSING_FIELD:customer_id"]
    by_sig = _run(["evidence", "query", "--db", db, "--signature", "MISSING_FIELD:customer_id", "--limit", "3"],
                  cwd=tmp_path).stdout.decode()
    assert "1,120 times, first seen 2024-01-15T09:58:02.127Z" in by_sig
    purged = _run(["evidence", "purge", "--db", db, "--config", str(EXAMPLE)], cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr.decode()
    assert "removed 1,247 rows" in purged.stderr.decode()  # 2024 data is far past the 30d retention


def test_read_commands_refuse_a_missing_store_and_create_nothing(tmp_path: Path) -> None:
    """A mistyped --db on a read command is an error naming the fix; no database or folder appears."""
    db = f"sqlite:///{tmp_path}/typo/sf.db"
    for argv in (["signals", "--db", db], ["incidents", "list", "--db", db], ["notices", "list", "--db", db],
                 ["evidence", "query", "--dataset", "urn:dp:orders:created", "--db", db], ["rca", "INC-1", "--db", db]):
        done = _run(argv, cwd=tmp_path)
        assert done.returncode == 1, argv
        assert "no store at" in done.stderr.decode(), argv
        assert "--db" in done.stderr.decode(), argv
    assert not (tmp_path / "typo").exists()
