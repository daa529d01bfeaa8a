"""`lineage ingest` replays RunEvent JSON lines (a real subprocess) into a SQLite store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE

SCENARIO2 = EXAMPLE / "scenario2" / "openlineage.jsonl"
_RUN = "from signal_factory.cli.lineage import lineage_app; lineage_app()"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_replay_scenario2_lines_then_again(tmp_path: Path) -> None:
    """Scenario 2's events give DQ_BREACH OK 0.9916 and lineage; a second replay adds nothing."""
    db = f"sqlite:///{tmp_path / 'sf.db'}"
    done = _cli("ingest", str(SCENARIO2), "--config", str(EXAMPLE), "--db", db)
    assert done.returncode == 0, done.stderr
    assert "3 events (0 already stored)" in done.stderr
    again = _cli("ingest", str(SCENARIO2), "--config", str(EXAMPLE), "--db", db)
    assert again.returncode == 0, again.stderr
    assert "3 events (3 already stored), 0 signals" in again.stderr
    with open_store(db) as store:
        dq = store.signals.list(dataset_urn="urn:dp:orders:silver", signal_type="DQ_BREACH")
        assert [(s.state, s.metrics["compliance_rate"]) for s in dq] == [("OK", 0.9916)]
        node = store.graph.node("JobRun:spark-orders-silver-20240115-020005")
        assert node is not None
        assert node.props["state"] == "COMPLETE"


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    """A bad line is named by file:line with its reason; the good lines still land; exit code 1."""
    src = tmp_path / "mixed.jsonl"
    good = SCENARIO2.read_text().splitlines()[0]
    src.write_text(f'{good}\n{{"eventType": "START"}}\nnot json\n')
    done = _cli("ingest", str(src), "--config", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'sf.db'}", "--json")
    assert done.returncode == 1
    assert f"{src}:2" in done.stderr
    assert f"{src}:3" in done.stderr
    assert '"run_id":"kafka-consumer-run-20240114-143001"' in done.stdout
