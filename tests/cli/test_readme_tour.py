"""The README's tour runs top to bottom as written: every `signal-factory` command in its bash blocks, in
order, in an empty folder (with `examples/` beside it, as in a checkout), exits 0.

Skipped, because they need something running that the tour starts elsewhere: `serve` and `run` (servers),
lines piped from `kcat` (a broker), and non-`signal-factory` lines (make, pip, python scripts).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE

README = Path(__file__).resolve().parents[2] / "README.md"
_NEEDS_A_SERVER = re.compile(r"^signal-factory (serve|run)\b|\|")


def tour_commands(text: str) -> list[str]:
    """The `signal-factory` command lines of the README's bash blocks, continuations joined, comments cut."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if command.startswith("signal-factory") and not _NEEDS_A_SERVER.search(command):
                commands.append(command)
    return commands


def test_readme_tour_runs_in_order(tmp_path: Path) -> None:
    """Each tour command, run in order from a fresh folder, succeeds (no step depends on a later one)."""
    (tmp_path / "examples").symlink_to(EXAMPLE.parent, target_is_directory=True)
    commands = tour_commands(README.read_text())
    assert len(commands) >= 20  # the tour is still there
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "160"}
    env.pop("SIGNAL_FACTORY_CONFIG", None)
    env.pop("SIGNAL_FACTORY_DB_URL", None)
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, timeout=300,
                              check=False)
        assert done.returncode == 0, f"README tour step failed: {command}\n{done.stderr.decode()[-2000:]}"
