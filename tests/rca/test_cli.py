"""`rca` as a user runs it: a real subprocess over a SQLite store holding Scenario 1 (and 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.stores.sql.database import open_store
from tests.conftest import EXAMPLE
from tests.rca import builders as b
from tests.rca.test_explain import POLISHED, ChatServer

#: The command mounted as the lead mounts it in cli/main.py, with main()'s error handling.
_APP = """
import sys, typer
from signal_factory.cli.rca import rca
from signal_factory.errors import SignalFactoryError
app = typer.Typer()
app.command()(rca)
app.command("noop")(lambda: None)  # two commands, so `rca` is a subcommand as in the real CLI
try:
    app()
except SignalFactoryError as e:
    print(f"error {e}", file=sys.stderr)
    sys.exit(1)
"""


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAL_FACTORY_LLM_")}
    return subprocess.run([sys.executable, "-c", _APP, "rca", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**base, "COLUMNS": "100", "SIGNAL_FACTORY_HOME": str(cwd / ".sf"), **env},
                          check=False)


@pytest.fixture
def db(control_plane: ControlPlane, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'sf.db'}"
    with open_store(url) as store:
        b.scenario1(control_plane, store=store)
    return url


def test_rca_prints_the_box(db: str, tmp_path: Path) -> None:
    """The default output is the Rich box with the root cause and the rollback."""
    proc = _run(["INC-7721", "--db", db, "--config", str(EXAMPLE)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ROOT CAUSE (Confidence: 95% - HIGH)" in proc.stdout
    assert "1. Roll back orders-svc to v3.16" in proc.stdout


def test_rca_json_and_markdown(db: str, tmp_path: Path) -> None:
    """--format json is the report as JSON; --format md is Markdown."""
    proc = _run(["INC-7721", "--db", db, "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["root_cause"]["service"], doc["root_cause"]["version"]) == ("orders-svc", "v3.17")
    assert doc["explanation"]["source"] == "template"
    md = _run(["INC-7721", "--db", db, "--format", "md"], tmp_path)
    assert md.stdout.startswith("# RCA Copilot analysis")


@pytest.mark.parametrize(("args", "message"), [
    (["INC-404"], "error no incident 'INC-404' in the store; `signal-factory incidents list` shows the ids"),
    (["--signature", "NOPE:x"], "error no failure signature 'NOPE:x' in the graph or the evidence"),
    ([], "error give an incident id (`signal-factory rca INC-7721`) or a failure signature"),
    (["INC-7721", "--signature", "MISSING_FIELD:customer_id"], "one of the two"),
    (["INC-7721", "--dataset", "urn:dp:orders:created"], "error --dataset narrows --signature"),
])
def test_rca_mistakes_are_messages(db: str, tmp_path: Path, args: list[str], message: str) -> None:
    """Unknown incident or signature, or a wrong combination of arguments: one clear line, exit 1, no traceback."""
    proc = _run([*args, "--db", db], tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    server = ChatServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_rca_uses_a_configured_llm(db: str, tmp_path: Path, chat: ChatServer) -> None:
    """With SIGNAL_FACTORY_LLM_URL/MODEL set, the explanation comes from the model and its time is reported."""
    proc = _run(["INC-7721", "--db", db, "--format", "json"], tmp_path, SIGNAL_FACTORY_LLM_URL=chat.url,
                SIGNAL_FACTORY_LLM_MODEL="test-model", SIGNAL_FACTORY_LLM_API_KEY="sk-cli-1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["explanation"]["source"], doc["explanation"]["text"]) == ("llm", POLISHED)
    assert doc["timing"]["llm_ms"] > 0
    assert chat.requests[0]["auth"] == "Bearer sk-cli-1"
    assert "sk-cli-1" not in proc.stdout + proc.stderr
