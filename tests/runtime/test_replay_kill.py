"""`signal-factory replay` killed with SIGKILL at several points, then rerun: `graph export` is byte for byte
the uninterrupted run's (Scenario 1 with its markers, and a deploy-and-rollback without markers)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE
from tests.runtime.rollback import write_rollback_traffic

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]
SCENARIO1 = EXAMPLE / "scenario1"
BATCH = 20


def _replay_cmd(db: Path, traffic: Path, deployments: Path | None) -> list[str]:
    extra = ["--deployments", str(deployments)] if deployments else []
    return [*CLI, "replay", "--config", str(EXAMPLE), "--db", f"sqlite:///{db}", "--no-send", "--batch-size",
            str(BATCH), *extra, str(traffic)]


def _checkpoint(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT position FROM checkpoint WHERE source_key LIKE 'replay:%'").fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    return int(row[0]) if row else 0


def _export(db: Path, cwd: Path) -> str:
    done = subprocess.run([*CLI, "graph", "export", "--format", "json", "--db", f"sqlite:///{db}"], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("case", ["scenario1", "rollback"])
def test_kill_9_at_several_points_then_rerun_exports_the_uninterrupted_graph(tmp_path: Path, case: str) -> None:
    """SIGKILL once the checkpoint passes 20%, 45% and 70% of the input, rerun after each; the final
    `graph export` equals the uninterrupted run's, and no Deployment appears that the input does not imply."""
    if case == "scenario1":
        traffic, deployments, total = SCENARIO1 / "traffic.jsonl", SCENARIO1 / "deployments.jsonl", 1247
    else:
        traffic, deployments, total = write_rollback_traffic(tmp_path / "rollback.jsonl", per_phase=250), None, 750
    env = {**os.environ, "COLUMNS": "160"}
    reference = tmp_path / "reference.db"
    done = subprocess.run(_replay_cmd(reference, traffic, deployments), cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    expected = _export(reference, tmp_path)

    db = tmp_path / "killed.db"
    killed_at = []
    for share in (0.2, 0.45, 0.7):
        proc = subprocess.Popen(_replay_cmd(db, traffic, deployments), cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _checkpoint(db) < share * total and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_at.append(_checkpoint(db))
        proc.wait(30)
    assert killed_at, "every run finished before it could be killed"
    assert all(position < total for position in killed_at)
    rerun = subprocess.run(_replay_cmd(db, traffic, deployments), cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"replayed {total:,} records" in rerun.stderr
    actual = _export(db, tmp_path)
    assert actual == expected
    assert ('"Deployment:orders-svc:v3.16"' in actual) == (case == "scenario1")  # a marker, never inferred
