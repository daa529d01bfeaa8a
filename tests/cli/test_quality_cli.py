"""What a contract states but we cannot enforce is said at load, apart from the rules measured per window:
`config check` shows two lists, and `enforce` / `replay` print each unsupported clause once at start."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.cli.test_cli import CLI, _run
from tests.conftest import EXAMPLE

ANCHOR = "            mustBe: 0\n            severity: warning\n"
ADDED = ("          - {metric: duplicateValues, mustBeLessThan: 3}\n"
         "          - {type: sql, query: 'SELECT COUNT(*) FROM t', mustBe: 0}\n")


def _cfg(tmp_path: Path) -> tuple[Path, Path, int]:
    """The example with one window rule and one unsupported (sql) rule on discount_type: (dir, file, dup line)."""
    cfg = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, cfg)
    path = cfg / "contracts" / "orders.created.odcs.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    text = text.replace(ANCHOR, ANCHOR + ADDED)
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(ADDED.splitlines()[0]) + 1
    return cfg, path, line


def test_config_check_lists_gaps_apart_from_window_rules(tmp_path: Path) -> None:
    """Gaps name the sql rule with file and line; the duplicate rule is listed as enforced per window, not a gap."""
    cfg, path, line = _cfg(tmp_path)
    proc = _run(["config", "check", str(cfg)])
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    gaps = next(i for i, s in enumerate(lines) if s.startswith("Gaps: 1 stated but not enforced"))
    window = next(i for i, s in enumerate(lines) if s.startswith("Enforced per window: 1 aggregate quality rule"))
    assert gaps < window
    assert lines[gaps + 1].startswith(f"not enforced {path}:{line + 1}: `type: sql` quality rule is not evaluated")
    assert lines[window + 1].startswith(
        f"per window {path}:{line}: QUALITY_DUPLICATE_VALUES:discount_type duplicateValues mustBeLessThan: 3")
    assert sum("duplicateValues" in s for s in lines) == 1


def test_enforce_and_replay_print_unsupported_rules_once_at_start(tmp_path: Path) -> None:
    """One `not enforced` line per unsupported clause, with file, line and key, before any work is done."""
    cfg, path, line = _cfg(tmp_path)
    for args in (["enforce", "--config", str(cfg), "-q", "/dev/null"],
                 ["replay", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'r.db'}", "--no-send", "/dev/null"]):
        proc = _run(args)
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        shown = [s for s in err.splitlines() if s.startswith("not enforced")]
        assert len(shown) == 1, err
        assert shown[0].startswith(f"not enforced {path}:{line + 1}: `type: sql` quality rule")
        assert "(at `schema[0].properties[5].quality[2]`)" in shown[0]


def test_serve_prints_unsupported_rules_once_at_start(tmp_path: Path) -> None:
    """`serve` says what it will not enforce before it says where it listens."""
    cfg, path, line = _cfg(tmp_path)
    env = {**os.environ, "COLUMNS": "160", "SIGNAL_FACTORY_HOME": str(tmp_path / "home")}
    env.pop("SIGNAL_FACTORY_API_TOKEN", None)
    proc = subprocess.Popen([*CLI, "serve", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 's.db'}",
                             "--port", "0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    try:
        assert proc.stderr is not None
        lines = []
        for text in proc.stderr:
            lines.append(text.rstrip("\n"))
            if text.startswith("Signal Factory on"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
    shown = [s for s in lines if s.startswith("not enforced")]
    assert len(shown) == 1, lines
    assert shown[0].startswith(f"not enforced {path}:{line + 1}: `type: sql` quality rule")
    assert lines[-1].startswith("Signal Factory on")
