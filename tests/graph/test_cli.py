"""`deploy`, `graph export` and `graph show` as a user runs them: a real subprocess over a SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE

#: The commands mounted as the lead mounts them in cli/main.py, with main()'s error handling.
_APP = """
import sys, typer
from signal_factory.cli.graph import deploy, graph_app
from signal_factory.errors import SignalFactoryError
app = typer.Typer()
app.add_typer(graph_app, name="graph")
app.command()(deploy)
try:
    app()
except SignalFactoryError as e:
    print(f"error {e}", file=sys.stderr)
    sys.exit(1)
"""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "SIGNAL_FACTORY_HOME": str(cwd / ".sf")}
    return subprocess.run([sys.executable, "-c", _APP, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env=env, check=False)


def test_deploy_then_export_cypher_and_json(tmp_path: Path) -> None:
    """Markers from a file and from flags land in the store's graph; export writes them as Cypher and JSON."""
    db = f"sqlite:///{tmp_path / 'sf.db'}"
    done = _run(["deploy", "--file", str(EXAMPLE / "scenario1/deployments.jsonl"), "--config", str(EXAMPLE),
                 "--db", db], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "recorded deployment orders-svc v3.17 at 2024-01-15T09:57:45.000Z commit 9f3c2d1" in done.stderr
    done = _run(["deploy", "--service", "orders-svc", "--version", "v3.18", "--at", "2024-01-16T08:00:00Z",
                 "--commit", "abc", "--description", 'says "hi"\nand bye', "--db", db], tmp_path)
    assert done.returncode == 0, done.stderr

    cypher = _run(["graph", "export", "--format", "cypher", "--db", db], tmp_path)
    assert cypher.returncode == 0, cypher.stderr
    lines = cypher.stdout.splitlines()
    assert all(line.endswith(";") for line in lines)
    v318 = next(line for line in lines if line.startswith('MERGE (n:Deployment {id: "Deployment:orders-svc:v3.18"})'))
    assert 'description: "says \\"hi\\"\\nand bye"' in v318
    assert any("MERGE (a)-[r:FEEDS]->(b)" in line for line in lines)  # the control plane came along with --config

    out = tmp_path / "graph.json"
    done = _run(["graph", "export", "--format", "json", "--out", str(out), "--db", db], tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    ids = {n["id"] for n in doc["nodes"]}
    assert {"Deployment:orders-svc:v3.16", "Deployment:orders-svc:v3.17", "Deployment:orders-svc:v3.18",
            "Dataset:urn:dp:orders:created"} <= ids
    assert f"to {out}" in done.stderr


def test_show_prints_the_neighbourhood(tmp_path: Path) -> None:
    """`graph show` resolves a bare key to its node and lists edges out and in."""
    db = f"sqlite:///{tmp_path / 'sf.db'}"
    assert _run(["deploy", "-s", "orders-svc", "-v", "v3.17", "--config", str(EXAMPLE), "--db", db],
                tmp_path).returncode == 0
    shown = _run(["graph", "show", "orders-svc", "--depth", "2", "--db", db, "--json"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert {(r["direction"], r["type"], r["node"]) for r in rows} >= {
        ("out", "DEPLOYED", "Deployment:orders-svc:v3.17"), ("in", "OWNED_BY", "Dataset:urn:dp:orders:created")}
    table = _run(["graph", "show", "Service:orders-svc", "--db", db], tmp_path)
    assert table.returncode == 0
    assert "DEPLOYED" in table.stdout


def test_bad_input_is_an_error_that_says_what_to_fix(tmp_path: Path) -> None:
    """A bad marker line names file:line; missing flags and unknown nodes say what is expected."""
    db = f"sqlite:///{tmp_path / 'sf.db'}"
    bad = tmp_path / "deploys.jsonl"
    bad.write_text('{"service": "a", "version": "1", "at": "2024-01-15T09:00:00Z"}\n{"service": "a"}\n')
    done = _run(["deploy", "--file", str(bad), "--db", db], tmp_path)
    assert done.returncode == 1
    assert "deploys.jsonl:2:" in done.stderr
    done = _run(["deploy", "--service", "a", "--db", db], tmp_path)
    assert done.returncode == 1
    assert "give --service and --version" in done.stderr
    open_store(db).close()  # an empty store: the node, not the store, is what is missing
    done = _run(["graph", "show", "Dataset:nope", "--db", db], tmp_path)
    assert done.returncode == 1
    assert "ids look like Kind:key" in done.stderr
