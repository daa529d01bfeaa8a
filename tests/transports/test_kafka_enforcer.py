"""The enforcer stage against a real Kafka protocol peer (librdkafka's mock cluster, or SIGNAL_FACTORY_TEST_KAFKA)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.model.evidence import FAIL, decode_evidence
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import INTERNAL_ERROR, EnforcerStage
from tests.transports.conftest import (
    GROUP_PROPS,
    KAFKA_ENV,
    ON_MOCK,
    POISON_RAW,
    RAW,
    ROOT,
    committed_offsets,
    drain,
    high_watermarks,
)

pytestmark = pytest.mark.slow
SCENARIO1_RECORDS = 1247


def _run_in_thread(stage: EnforcerStage, until: int, timeout_s: float = 60.0) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    while stage.report.records < until and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.05)
    stop.set()
    worker.join(30)
    assert not worker.is_alive(), "the stage did not stop within 30 s of being asked"
    assert stage.report.records >= until, f"only {stage.report.records} of {until} records were processed"


def test_scenario1_through_kafka(kafka_bootstrap: str, scenario1_raw: int, control_plane: ControlPlane) -> None:
    """Every Scenario 1 record yields exactly one evidence on signal_factory.evidence, keyed by dataset URN."""
    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id="sf-test-scenario1", topics=(RAW,),
                      properties=GROUP_PROPS)
    _run_in_thread(EnforcerStage(control_plane, cfg), scenario1_raw)

    msgs = drain(kafka_bootstrap, "signal_factory.evidence", expect=scenario1_raw)
    evidence = [decode_evidence(m.value()) for m in msgs]
    assert len(evidence) == SCENARIO1_RECORDS
    assert {m.key() for m in msgs} == {b"urn:dp:orders:created"}
    coords = Counter((e.source.partition, e.source.offset) for e in evidence if e.source)
    assert len(coords) == SCENARIO1_RECORDS
    assert max(coords.values()) == 1
    missing = [e for e in evidence if e.validation.result == FAIL
               and "MISSING_FIELD:customer_id" in e.validation.reason_codes]
    assert len(missing) == 1120
    assert committed_offsets(kafka_bootstrap, cfg.group_id, RAW) == high_watermarks(kafka_bootstrap, RAW)


def test_exactly_once_path(kafka_bootstrap: str, scenario1_raw: int, control_plane: ControlPlane) -> None:
    """delivery=exactly-once produces each batch and its offsets in one transaction (offsets stick on real Kafka)."""
    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id="sf-test-eos", topics=(RAW,),
                      evidence_topic="sf.test.evidence.eos", delivery="exactly-once",
                      transactional_id="sf-test-eos-0", properties=GROUP_PROPS)
    stage = EnforcerStage(control_plane, cfg)
    _run_in_thread(stage, scenario1_raw)

    evidence = drain(kafka_bootstrap, cfg.evidence_topic, expect=scenario1_raw)
    assert len(evidence) == SCENARIO1_RECORDS
    assert stage.report.aborted == 0
    committed = committed_offsets(kafka_bootstrap, cfg.group_id, RAW)
    if ON_MOCK:
        assert all(o < 0 for o in committed.values())  # the mock's TxnOffsetCommit stores nothing
    else:
        assert committed == high_watermarks(kafka_bootstrap, RAW)


class _ExplodingEnforcer(Enforcer):
    """A gate bug stand-in: raises on any record whose value contains b'BOOM'."""

    def process(self, records: Sequence[RawRecord | MalformedInput]) -> EnforceBatch:
        if any(isinstance(r, RawRecord) and r.value and b"BOOM" in r.value for r in records):
            raise RuntimeError("gate bug")
        return super().process(records)


def test_poison_records_never_block_a_partition(kafka_bootstrap: str, control_plane: ControlPlane) -> None:
    """Garbage bytes and a record that crashes the enforcer each become FAIL evidence; later records still flow."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    good = json.dumps({"event_id": "e1", "event_type": "inventory.updated.v1", "timestamp": "2024-01-15T09:55:00Z",
                       "payload": {"sku": "A-1", "quantity": 3}}).encode()
    values = [b"\xff\x00\x13 not json at all", b'{"BOOM": 1}', good]
    for v in values:
        producer.produce(POISON_RAW, value=v, partition=0, timestamp=1705312500000)
    assert producer.flush(10) == 0

    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id="sf-test-poison", topics=(POISON_RAW,),
                      evidence_topic="sf.test.evidence.poison", properties=GROUP_PROPS)
    stage = EnforcerStage(control_plane, cfg, enforcer=_ExplodingEnforcer(control_plane))
    _run_in_thread(stage, len(values))

    evidence = sorted((decode_evidence(m.value()) for m in drain(kafka_bootstrap, cfg.evidence_topic, expect=3)),
                      key=lambda e: e.source.offset if e.source and e.source.offset is not None else -1)
    assert len(evidence) == 3
    assert evidence[0].validation.result == FAIL  # undecodable bytes
    assert evidence[1].validation.result == FAIL
    assert evidence[1].validation.reason_codes == [INTERNAL_ERROR]
    assert evidence[2].validation.reason_codes != [INTERNAL_ERROR]
    assert stage.report.internal_errors == 1
    assert committed_offsets(kafka_bootstrap, cfg.group_id, POISON_RAW)[0] == 3


def _stage_cmd(bootstrap: str, group: str, evidence_topic: str, batch_size: int, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "signal_factory.cli.run", "enforcer", "--config", str(ROOT / "examples" / "orders"),
           "--bootstrap-servers", bootstrap, "--group-id", group, "--topics", RAW,
           "--evidence-topic", evidence_topic, "--batch-size", str(batch_size)]
    for k, v in GROUP_PROPS.items():
        cmd += ["-X", f"{k}={v}"]
    return [*cmd, *extra]


def _start(cmd: list[str], log: Path | None = None) -> subprocess.Popen[str]:
    """The stage in a subprocess; its stderr piped to us (read it, or the stage blocks once the pipe is full)
    or appended to `log`."""
    stderr = subprocess.PIPE if log is None else log.open("a")
    try:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        if log is not None:
            stderr.close()


def _close(proc: subprocess.Popen[str]) -> None:
    if proc.stderr is not None:
        proc.stderr.close()


def _wait_for_records(proc: subprocess.Popen[str], at_least: int, timeout_s: float = 30.0) -> int:
    """Read the stage's JSON log until a committed batch brings the total to `at_least`."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        if not select.select([proc.stderr], [], [], 0.5)[0]:
            continue
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # librdkafka's own log lines
        if entry.get("msg") == "batch committed" and entry["total_records"] >= at_least:
            return int(entry["total_records"])
    raise AssertionError(f"the stage never reported {at_least} committed records (exit code {proc.poll()}); "
                         f"its log:\n{''.join(x for x in seen if 'HEARTBEAT' not in x)[-6000:]}")


def _wait_until_caught_up(bootstrap: str, group: str, timeout_s: float = 45.0, log: Path | None = None) -> None:
    want = high_watermarks(bootstrap, RAW)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if committed_offsets(bootstrap, group, RAW) == want:
            return
        time.sleep(0.5)
    tail = log.read_text()[-3000:] if log is not None else ""
    raise AssertionError(f"group {group} never committed up to {want}: {committed_offsets(bootstrap, group, RAW)}\n"
                         f"{tail}")


@pytest.mark.parametrize("delivery", [
    "at-least-once",
    pytest.param("exactly-once", marks=pytest.mark.skipif(
        ON_MOCK, reason="librdkafka's mock does not store transactional offsets (see test_transactions); "
                        f"run scripts/ensure-kafka.sh (a real broker) or set {KAFKA_ENV}")),
])
def test_kill_minus_9_then_restart_loses_nothing(kafka_bootstrap: str, scenario1_raw: int, delivery: str,
                                                 tmp_path: Path) -> None:
    """SIGKILL mid-stream, restart: every source record has exactly one distinct evidence; SIGTERM exits 0."""
    eos = delivery == "exactly-once"
    group = "sf-test-kill-eos" if eos else "sf-test-kill"
    topic = "sf.test.evidence.kill-eos" if eos else "sf.test.evidence.kill"
    extra = ("--delivery", "exactly-once", "--transactional-id", "sf-test-kill-eos-0") if eos else ()
    cmd = _stage_cmd(kafka_bootstrap, group, topic, 50, *extra)
    first = _start(cmd)
    try:
        done_before_kill = _wait_for_records(first, 300)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        _close(first)
    assert done_before_kill < scenario1_raw, "the stage finished before it could be killed; lower --batch-size"

    second = _start(cmd, log=tmp_path / "second.log")  # not read until it is caught up: a file, not a pipe
    try:
        _wait_until_caught_up(kafka_bootstrap, group, log=tmp_path / "second.log")
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
        _close(second)

    evidence = [decode_evidence(m.value()) for m in drain(kafka_bootstrap, topic, expect=scenario1_raw)]
    ids_by_source: dict[tuple[int | None, int | None], set[str]] = defaultdict(set)
    for e in evidence:
        assert e.source is not None
        ids_by_source[(e.source.partition, e.source.offset)].add(e.evidence_id)
    assert len(ids_by_source) == scenario1_raw  # nothing lost
    assert all(len(ids) == 1 for ids in ids_by_source.values())  # re-emitted evidence has the same id
    duplicates = len(evidence) - scenario1_raw
    print(f"{delivery}: {done_before_kill} records committed before SIGKILL, {duplicates} re-emitted after restart")
    # At-least-once: only the batch in flight at the kill may be re-emitted; a transaction never.
    assert 0 <= duplicates <= (0 if eos else 50)
    assert committed_offsets(kafka_bootstrap, group, RAW) == high_watermarks(kafka_bootstrap, RAW)


def test_sigterm_mid_stream_commits_what_is_done(kafka_bootstrap: str, scenario1_raw: int) -> None:
    """SIGTERM mid-stream: exit 0, and the committed offsets cover exactly the records whose evidence is out."""
    group, topic = "sf-test-term", "sf.test.evidence.term"
    proc = _start(_stage_cmd(kafka_bootstrap, group, topic, batch_size=20))
    try:
        _wait_for_records(proc, 100)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _close(proc)
    committed = committed_offsets(kafka_bootstrap, group, RAW)
    covered = sum(max(o, 0) for o in committed.values())
    evidence = [decode_evidence(m.value()) for m in drain(kafka_bootstrap, topic, idle_s=1.5)]
    assert 100 <= covered < scenario1_raw
    assert len(evidence) == covered
    for e in evidence:
        assert e.source is not None
        assert e.source.offset is not None
        assert e.source.partition is not None
        assert e.source.offset < committed[e.source.partition]
