"""kcat against the broker, as the README shows it: Scenario 1 produced with `kcat -P`, the topic read back with
`kcat -C -J -e` and piped into `signal-factory enforce`, which gives one evidence per record and the same
verdicts as enforcing the records straight from their files.

`kcat -P` sets a partition, key delimiter and headers per invocation, not per message: the records are
produced one partition at a time (key and payload per line) without their headers or CreateTimes; the
check is on what those do not decide here: count, coordinates, and the verdicts and reason codes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections import Counter, defaultdict

import pytest

from tests.transports.conftest import ROOT, TRAFFIC, kafka_cluster

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat missing: run scripts/ensure-kafka.sh")]
CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]


def _enforce(stdin: bytes | None, *files: str) -> list[dict]:
    proc = subprocess.run([*CLI, "enforce", "--config", str(ROOT / "examples" / "orders"), "--quiet", *files],
                          input=stdin, capture_output=True, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _verdicts(evidence: list[dict]) -> Counter[tuple[str, tuple[str, ...]]]:
    return Counter((e["validation"]["result"], tuple(e["validation"]["reason_codes"])) for e in evidence)


def test_kcat_produce_then_consume_into_enforce() -> None:
    """kcat -P in, kcat -C -J -e | signal-factory enforce out: 1,247 evidence, the verdicts of the file run."""
    topic = f"raw.orders.events.kcat-{uuid.uuid4().hex[:6]}"
    by_partition: dict[int, list[str]] = defaultdict(list)
    lines = TRAFFIC.read_text().splitlines()
    for line in lines:
        d = json.loads(line)
        by_partition[d["partition"]].append(f"{d['key']}\t{d['payload']}")
    with kafka_cluster({topic: 8}) as bootstrap:
        for partition, rows in sorted(by_partition.items()):
            produced = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", str(partition), "-K", "\t"],
                                      input="\n".join(rows).encode() + b"\n", capture_output=True, timeout=60,
                                      check=False)
            assert produced.returncode == 0, produced.stderr.decode()
        consumed = subprocess.run(["kcat", "-C", "-J", "-e", "-o", "beginning", "-b", bootstrap, "-t", topic],
                                  capture_output=True, timeout=60, check=False)
        assert consumed.returncode == 0, consumed.stderr.decode()
    envelopes = [json.loads(line) for line in consumed.stdout.splitlines()]
    assert len(envelopes) == len(lines) == 1247
    # The records on our topic name raw.orders.events (the topic the contract binds), as a mirror would.
    relabelled = b"".join(json.dumps({**e, "topic": "raw.orders.events"}).encode() + b"\n" for e in envelopes)
    through_kafka = _enforce(relabelled)
    from_files = _enforce(None, str(TRAFFIC))

    assert len(through_kafka) == 1247
    assert len({(e["source"]["partition"], e["source"]["offset"]) for e in through_kafka}) == 1247
    missing = [e for e in through_kafka if "MISSING_FIELD:customer_id" in e["validation"]["reason_codes"]]
    assert len(missing) == 1120
    assert _verdicts(through_kafka) == _verdicts(from_files)
