"""`signal-factory run ...`: a stage that stops on an error says so in its JSON log and exits 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from signal_factory.cli.run import JsonLines, _logged_failure
from signal_factory.errors import SignalFactoryError

ROOT = Path(__file__).resolve().parents[2]


def test_logged_failure_writes_a_json_error_line_and_reraises(caplog: pytest.LogCaptureFixture) -> None:
    with (caplog.at_level("ERROR", logger="signal_factory.cli.run"), pytest.raises(SignalFactoryError),
          _logged_failure()):
        raise SignalFactoryError("lost the alerts lock")
    (record,) = caplog.records
    line = json.loads(JsonLines().format(record))
    assert (line["level"], line["msg"], line["error"], line["type"]) == (
        "error", "stage failed", "lost the alerts lock", "SignalFactoryError")


def test_a_database_failure_becomes_one_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL gone mid-run: a SignalFactoryError that says what happened to the work in hand, logged too."""
    from sqlalchemy.exc import OperationalError

    gone = OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly\nmore"))
    with (caplog.at_level("ERROR", logger="signal_factory.cli.run"),
          pytest.raises(SignalFactoryError, match=r"\(Exception: server closed the connection unexpectedly\); the "
                                                  "transaction in hand was rolled back, so a restart resumes"),
          _logged_failure()):
        raise gone
    assert caplog.records[0].type == "OperationalError"  # type: ignore[attr-defined]


def test_a_store_failure_from_a_transaction_gets_the_restart_advice(caplog: pytest.LogCaptureFixture) -> None:
    """What a stage sees from the store (StoreFailedError) also ends as one line saying a restart resumes."""
    from sqlalchemy.exc import OperationalError

    from signal_factory.errors import StoreFailedError

    def fail() -> None:
        try:
            raise OperationalError("INSERT ...", {"doc": "secret"}, Exception("terminating connection"))
        except OperationalError as e:
            raise StoreFailedError("AdminShutdown: terminating connection") from e

    with (caplog.at_level("ERROR", logger="signal_factory.cli.run"),
          pytest.raises(SignalFactoryError, match=r"^the database failed \(AdminShutdown: terminating connection\); "
                                                  "the transaction in hand was rolled back, so a restart resumes"),
          _logged_failure()):
        fail()
    assert caplog.records[0].type == "OperationalError"  # type: ignore[attr-defined]
    assert "secret" not in caplog.records[0].error  # type: ignore[attr-defined]


def test_run_alerts_without_a_reachable_store_exits_1_with_a_fix() -> None:
    """No PostgreSQL at that address: one clear message with a fix line, exit 1, no traceback."""
    cli = Path(sys.executable).parent / "signal-factory"
    proc = subprocess.run([str(cli), "run", "alerts", "--db", "postgresql://sf@127.0.0.1:1/nope",
                           "--exit-when-idle", "0.2"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert proc.returncode == 1
    assert "cannot open the store" in proc.stderr
    assert "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
