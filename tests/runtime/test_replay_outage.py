"""PostgreSQL stops mid-replay: `signal-factory replay` ends with one short line (what is committed, how to
resume, no SQL or record values), and the rerun after a restart gives exactly an uninterrupted run's counts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import EXAMPLE
from tests.fixtures_db import _INSTALL_HINT, TempPostgres, _pg_bindir

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]
RECORDS = 10_000
BATCH = 250
START_MS = 1_705_312_500_000  # 2024-01-15T09:55:00Z


@pytest.fixture
def own_postgres() -> Iterator[TempPostgres]:
    """A PostgreSQL server of this test's own (it gets stopped and restarted), with durable commits."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(_INSTALL_HINT, pytrace=False)
    server = TempPostgres(bindir, durable=True)
    try:
        server.start("outage")
        yield server
    finally:
        server.stop()


def _traffic(path: Path) -> None:
    """10,000 orders 50 ms apart (~8 minutes of event time); every third one misses `customer_id`."""
    with path.open("w") as f:
        for i in range(RECORDS):
            payload = {"order_id": f"ORD-OUTAGE-{i:06d}", "total_amount": 12.5, "currency": "USD",
                       "created_at": "2024-01-15T09:55:00.000Z"}
            if i % 3:
                payload["customer_id"] = f"cust-secret-{i:06d}"
            f.write(json.dumps({
                "topic": "raw.orders.events", "partition": 0, "offset": i, "timestamp": START_MS + i * 50,
                "headers": {"x-obs-producer-service": "orders-svc", "x-obs-producer-version": "v3.17"},
                "value": {"event_id": f"e{i}", "event_type": "orders.created.v1",
                          "timestamp": "2024-01-15T09:55:00.000Z", "payload": payload}}) + "\n")


def _replay(url: str, traffic: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.Popen([*CLI, "replay", "--config", str(EXAMPLE), "--db", url, "--no-send", "--batch-size",
                             str(BATCH), str(traffic)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, env=env)


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(sql).fetchall())


def _checkpoint(url: str) -> int:
    try:
        rows = _query(url, "SELECT position FROM checkpoint WHERE source_key LIKE 'replay:%'")
    except psycopg.Error:  # tables not created yet
        return 0
    return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]


def _counts(url: str) -> dict[str, object]:
    """What must match an uninterrupted run exactly: evidence and PASS tallies, signals, incidents."""
    evidence = _query(url, "SELECT count(*), count(DISTINCT evidence_id) FROM evidence")[0]
    tallied = _query(url, "SELECT coalesce(sum(count), 0) FROM pass_tally")[0][0]
    signals = _query(url, "SELECT doc FROM signal ORDER BY signal_id")
    incidents = _query(url, "SELECT incident_id, status, dataset_urn, failure_signature FROM incident "
                            "ORDER BY incident_id")
    return {"evidence": evidence, "tallied": tallied, "signals": signals, "incidents": incidents}


def test_postgres_stopping_mid_replay_ends_in_one_line_and_the_rerun_counts_exactly(
        own_postgres: TempPostgres, tmp_path: Path) -> None:
    """pg_ctl stop -m immediate mid-replay: exit 1, one line naming the checkpoint and the rerun, no SQL or
    values; after a restart the same command finishes with the uninterrupted run's exact counts."""
    traffic = tmp_path / "orders.jsonl"
    _traffic(traffic)
    url = f"postgresql://postgres@127.0.0.1:{own_postgres.port}/outage"
    reference_url = url.rsplit("/", 1)[0] + "/reference"  # the uninterrupted run, on the same server
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "reference"')
    reference = _replay(reference_url, traffic, tmp_path)
    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err

    proc = _replay(url, traffic, tmp_path)
    deadline = time.monotonic() + 120
    while (position := _checkpoint(url)) < 4 * BATCH:
        assert proc.poll() is None, "the replay ended before the outage"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert position < RECORDS
    own_postgres.stop_server()
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 1
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert len(stderr) < 1_000, stderr
    (line,) = lines
    assert line.startswith("error replay stopped: the database failed (")
    found = re.search(rf"; ([\d,]+) of {RECORDS:,} records are committed \(checkpoint ([\d,]+), ", line)
    assert found, line
    committed = int(found.group(1).replace(",", ""))
    assert found.group(2) == found.group(1)
    assert committed % BATCH == 0
    assert position <= committed < RECORDS
    assert "rerun the same replay command" in line
    for leak in ("Traceback", "INSERT", "SELECT", "[SQL", "parameters", "evd-", "cust-secret", "ORD-OUTAGE"):
        assert leak not in stderr

    own_postgres.start_server()
    assert _checkpoint(url) == committed  # durable commits: what the line said is what is stored
    rerun = _replay(url, traffic, tmp_path)
    _, rerun_err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, rerun_err
    assert f"replayed {RECORDS:,} records ({committed:,} already done)" in rerun_err
    counts = _counts(url)
    assert counts == _counts(reference_url)
    evidence, distinct = counts["evidence"]  # type: ignore[misc]
    assert evidence == distinct
    assert evidence + counts["tallied"] == RECORDS  # type: ignore[operator]
