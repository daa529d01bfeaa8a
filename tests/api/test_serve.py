"""`serve` as a process: prints the URL (never the token), serves, and exits cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.conftest import EXAMPLE, ROOT

SECRET = "s3cret-token-never-printed"
_RUN = "import typer; from signal_factory.cli.serve import serve; typer.run(serve)"


def test_serve_prints_url_and_stops_on_sigterm_with_a_stream_open(tmp_path: Path) -> None:
    """SIGTERM ends the server promptly even with an open event stream; the token is not printed."""
    env = {**os.environ, "SIGNAL_FACTORY_API_TOKEN": SECRET, "SIGNAL_FACTORY_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", _RUN, "--config", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'sf.db'}",
           "--port", "0"]
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        timer = threading.Timer(30, proc.kill)
        timer.start()
        try:
            seen: list[str] = []
            url = None
            for line in proc.stderr:
                seen.append(line)
                m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
                if m:
                    url = m.group(1)
                    break
            assert url, "".join(seen)
            assert "writes enabled" in seen[-1]
            with httpx.Client(base_url=url, timeout=10) as c:
                assert c.get("/api/v1/health").json()["status"] == "ok"
                with c.stream("GET", "/api/v1/events") as stream:
                    lines = stream.iter_lines()
                    next(lines)
                    proc.send_signal(signal.SIGTERM)
                    for _ in lines:
                        pass
            out, err = proc.communicate(timeout=15)
        finally:
            timer.cancel()
        assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal after shutdown
        assert SECRET not in "".join(seen) + out + err
