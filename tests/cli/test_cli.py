"""The `signal-factory` command as a user runs it: a real subprocess, real files, real pipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE

CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]


def _run(args: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120, cwd=cwd, env=env,
                          check=False)


def test_enforce_writes_evidence_and_prints_summary(tmp_path: Path) -> None:
    """enforce over the bundled records writes one evidence line per record and a per-dataset table."""
    out = tmp_path / "ev.jsonl"
    files = sorted(str(p) for p in (EXAMPLE / "records").glob("*.jsonl"))
    proc = _run(["enforce", "--config", str(EXAMPLE), "--out", str(out), *files], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    evidence = [json.loads(line) for line in out.read_text().splitlines()]
    results = {e["validation"]["result"] for e in evidence}
    assert {"WARN", "FAIL"} <= results
    codes = {c for e in evidence for c in e["validation"]["reason_codes"]}
    assert {"MISSING_FIELD:customer_id", "UNKNOWN_ENUM:discount_type:FLASH_SALE", "PII_DETECTED:notes:SSN",
            "MALFORMED_RECORD:json"} <= codes
    assert "219-09-9999" not in out.read_text()
    err = proc.stderr.decode()
    assert "Evidence summary" in err
    assert "urn:dp:orders:created" in err
    assert "PII_DETECTED:notes:SSN" in err
    assert "219-09-9999" not in err


def test_enforce_reads_stdin_like_a_kcat_pipe(tmp_path: Path) -> None:
    """`kcat -C -J ... | signal-factory enforce --config DIR` writes evidence to stdout."""
    data = (EXAMPLE / "records/scenario1-record.jsonl").read_bytes()
    proc = _run(["enforce", "--config", str(EXAMPLE), "--quiet"], stdin=data, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    (line,) = proc.stdout.decode().splitlines()
    ev = json.loads(line)
    assert ev["validation"]["reason_codes"] == ["MISSING_FIELD:customer_id"]
    assert ev["source"]["offset"] == 9918273


def test_config_check_ok() -> None:
    """config check on the example lists datasets and says it is valid."""
    proc = _run(["config", "check", str(EXAMPLE)])
    assert proc.returncode == 0, proc.stderr.decode()
    assert "is valid" in proc.stderr.decode()


def test_bad_config_is_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    """A broken config exits 2 with file:line, the problem and the fix, and no Python traceback."""
    cfg = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, cfg)
    text = (cfg / "topics.yaml").read_text().replace("urn:dp:inventory:updated", "urn:dp:inventory:updatd")
    (cfg / "topics.yaml").write_text(text)
    for args in (["config", "check", str(cfg)], ["enforce", "--config", str(cfg), "-q", "/dev/null"]):
        proc = _run(args)
        err = proc.stderr.decode()
        assert proc.returncode == 2
        assert "Traceback" not in err
        assert "topics.yaml:4" in err
        assert "fix:" in err
        assert "urn:dp:inventory:updated" in err


def test_missing_input_file_is_a_message(tmp_path: Path) -> None:
    """A missing input file is named in one line, exit 1, no traceback; --out folders are created."""
    proc = _run(["enforce", "--config", str(EXAMPLE), "--out", str(tmp_path / "new/dir/ev.jsonl"),
                 str(tmp_path / "absent.jsonl")])
    assert proc.returncode == 1
    assert "input file not found" in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
    ok = _run(["enforce", "--config", str(EXAMPLE), "-q", "--out", str(tmp_path / "new/dir/ev.jsonl"),
               str(EXAMPLE / "records/scenario1-record.jsonl")])
    assert ok.returncode == 0, ok.stderr.decode()
    assert (tmp_path / "new/dir/ev.jsonl").read_text().count("\n") == 1


def test_version_and_help_are_clean(tmp_path: Path) -> None:
    """--version prints the package version; help has no emoji substitution and shows completion install."""
    from signal_factory import __version__

    version = _run(["--version"], cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.decode().strip() == f"signal-factory {__version__}"
    helped = _run(["--help"], cwd=tmp_path).stdout.decode()
    assert "--install-completion" in helped
    assert "--version" in helped
    replay = _run(["replay", "--help"], cwd=tmp_path).stdout.decode()
    assert "FILE..." in replay
    assert "list[" not in replay
    assert "<bool>" not in replay


def test_default_config_outside_a_checkout_names_the_fix(tmp_path: Path) -> None:
    """Run outside the source tree without --config: a config error naming --config and SIGNAL_FACTORY_CONFIG."""
    env_free = {k: v for k, v in os.environ.items() if k != "SIGNAL_FACTORY_CONFIG"}
    proc = subprocess.run([*CLI, "enforce", "-"], input=b"", capture_output=True, timeout=120, cwd=tmp_path,
                          env={**env_free, "COLUMNS": "200"}, check=False)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "--config" in err
    assert "SIGNAL_FACTORY_CONFIG" in err
    assert "Traceback" not in err
