"""`notices list` as an on-call engineer runs it after a replay: the drift notice that paged no one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import _run
from tests.conftest import EXAMPLE


def test_notices_list_after_scenario1(tmp_path: Path) -> None:
    """Scenario 1's first-seen MISSING_FIELD:customer_id is listed with its dataset, window, first sighting and
    the routes it went to; --json, --dataset and --since filter; a bad --since is a message, exit 1; the
    incident panel lists the signature the notice handed over."""
    db = f"sqlite:///{tmp_path}/sf.db"
    proc = _run(["replay", "--config", str(EXAMPLE), "--db", db, "--no-send",
                 str(EXAMPLE / "scenario1/traffic.jsonl")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "new signatures" in proc.stdout.decode()

    table = _run(["notices", "list", "--db", db], cwd=tmp_path)
    assert table.returncode == 0, table.stderr.decode()
    text = table.stdout.decode()
    for expected in ("urn:dp:orders:created", "2024-01-15 09:55:00–10:00:00", "MISSING_FIELD:customer_id ×1",
                     "09:58:02.127", "data-platform-slack", "incident-webhook"):
        assert expected in text, expected

    (doc,) = [json.loads(x) for x in _run(["notices", "list", "--db", db, "--json"],
                                          cwd=tmp_path).stdout.decode().splitlines()]
    assert [s["signature"] for s in doc["signatures"]] == ["MISSING_FIELD:customer_id"]
    assert doc["notice_id"] in text
    other = _run(["notices", "list", "--db", db, "--json", "--dataset", "urn:dp:inventory:updated"], cwd=tmp_path)
    assert other.stdout.decode() == ""
    later = _run(["notices", "list", "--db", db, "--json", "--since", "2024-01-15T10:00:00Z"], cwd=tmp_path)
    assert later.stdout.decode() == ""
    bad = _run(["notices", "list", "--db", db, "--since", "last tuesday"], cwd=tmp_path)
    assert bad.returncode == 1
    assert "ISO-8601" in bad.stderr.decode()
    assert "Traceback" not in bad.stderr.decode()
