"""Start-up: importing the CLI loads no heavy module a command may not need (`--help` stays fast)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "fastapi", "httpx", "jsonschema", "open_data_contract_standard", "uvicorn",
         "signal_factory.enforcer.pipeline", "signal_factory.controlplane.loader", "signal_factory.stores.sql")


def test_importing_the_cli_leaves_heavy_modules_unloaded() -> None:
    """A fresh interpreter that imports `signal_factory.cli.main` has none of HEAVY in sys.modules."""
    code = ("import sys, signal_factory.cli.main\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"imported at CLI start-up: {done.stdout.strip()}"


def test_help_lists_every_command() -> None:
    """`--help` still resolves every command's annotations (lazy imports broke none of them)."""
    done = subprocess.run([sys.executable, "-c", "from signal_factory.cli.main import main; main()", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for command in ("enforce", "replay", "rca", "mute", "notices", "evidence", "graph", "serve", "run"):
        assert command in done.stdout
