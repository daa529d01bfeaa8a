"""`lineage ingest` replays OpenLineage event JSON lines (a real subprocess) into SQLite; `lineage run` shows a run."""

from __future__ import annotations

import json
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


def test_every_event_type_replays_and_a_failed_run_shows_its_error(tmp_path: Path) -> None:
    """DatasetEvent, JobEvent and RunEvent lines all land; `lineage run` prints a failed run's errorMessage."""
    job = {"namespace": "spark", "name": "orders_silver_transform"}
    silver = {"namespace": "delta://unity-catalog", "name": "sales.orders_silver"}
    error = {"message": "Job aborted: stage 3 failed", "programmingLanguage": "JAVA", "stackTrace": "at X.y(X.java:1)"}
    lines = [
        {"eventTime": "2024-01-15T01:00:00Z", "dataset": {**silver, "facets": {"vendor": {"steward": "dp"}}}},
        {"eventTime": "2024-01-15T01:00:00Z", "job": job, "outputs": [silver]},
        {"eventType": "START", "eventTime": "2024-01-15T02:00:05Z", "run": {"runId": "r-9"}, "job": job},
        {"eventType": "FAIL", "eventTime": "2024-01-15T02:01:05Z", "run": {"runId": "r-9", "facets": {
            "errorMessage": error}}, "job": job},
    ]
    src = tmp_path / "events.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    db = f"sqlite:///{tmp_path / 'sf.db'}"
    done = _cli("ingest", str(src), "--config", str(EXAMPLE), "--db", db)
    assert done.returncode == 0, done.stderr
    assert "4 events (0 already stored)" in done.stderr
    assert "DatasetEvent urn:dp:orders:silver" in done.stderr
    shown = _cli("run", "r-9", "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "state FAIL (FAILED)" in shown.stdout
    assert "error (JAVA): Job aborted: stage 3 failed" in shown.stdout
    as_json = json.loads(_cli("run", "r-9", "--db", db, "--json").stdout)
    assert as_json["error"] == error
    missing = _cli("run", "no-such-run", "--db", db)
    assert missing.returncode != 0
    assert "no OpenLineage run 'no-such-run'" in missing.stderr
