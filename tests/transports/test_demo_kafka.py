"""`make demo-kafka` (scripts/demo-kafka.sh): the distributed path end to end on one machine gives the same
incident and RCA as the embedded `make demo`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_kafka_finds_scenario1s_root_cause(tmp_path: Path) -> None:
    """On a real Apache Kafka broker the script starts itself: the same INC-1 and RCA as `make demo`."""
    cli = Path(sys.executable).parent / "signal-factory"
    if not cli.exists() or cli.parent.parent.resolve() != (ROOT / ".venv").resolve():
        pytest.skip("the demo script runs the project's .venv (make test creates it)")
    proc = subprocess.run(["bash", "scripts/demo-kafka.sh", f"sqlite:///{tmp_path / 'demo.db'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Apache Kafka" in out.splitlines()[0]
    assert "produced 1,247 Scenario 1 records" in out
    assert '"records": 1247, "evidence": 1247' in out
    assert '"new_evidence": 1247' in out
    assert "INC-1" in out
    assert "SEV-1" in out
    assert "ROOT CAUSE (Confidence: 95% - HIGH)" in out
    assert "orders-svc v3.17" in out
