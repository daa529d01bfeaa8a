"""The whole Kafka path across crashes: `run enforcer` killed between its flush and its offset commit, then
`run signals` over what it produced (in-process, and killed with SIGKILL mid-stream in a subprocess).

Input: 3,000 inventory records (tier 3: 10% of PASS evidence kept, the rest counted by `PassTally`) on a raw
topic with 4 partitions, one record in ten FAIL (a missing required field), event times inside one 5-minute
window. The enforcer runs with a fault injected: `EnforcerStage._commit` exits the process (`os._exit(137)`,
what a kill -9 leaves behind) on its Nth call, i.e. after the batch was flushed to the evidence and tally
topics but before its offsets were committed. Restarted (crashing once more, then clean), it re-sends those
batches: the same evidence ids, and tallies counting offsets that were counted already.

Proved:
* every source record has exactly one evidence id, or is counted by tallies (never both, never neither), and
  the evidence and the counted offsets are exactly what an in-process enforcer makes of the same records;
* the crash window was hit: duplicate evidence messages exist, and the tally messages count more PASS records
  than were sampled out (re-sent tallies);
* the signals stage stores each evidence once, PASS tallies summing to exactly the sampled-out records, drops
  exactly the re-sent tally counts (`tally_duplicates`), and its final CONTRACT_BREACH counts every source
  record once (3,000 = 2,700 PASS + 300 FAIL) -- also when the signals stage itself is killed mid-stream.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import FAIL, PASS, Evidence, decode_evidence
from signal_factory.model.records import RawRecord
from signal_factory.stores.sql import open_store
from signal_factory.transports.kafka.signals_stage import SignalsStage, checkpoint_key, stage_config
from signal_factory.transports.kafka.tallies import decode_tally_message
from tests.transports.conftest import (
    GROUP_PROPS,
    ROOT,
    committed_offsets,
    drain,
    high_watermarks,
    kafka_cluster,
)

pytestmark = [pytest.mark.slow]

URN = "urn:dp:inventory:updated"
RAW = "sf.test.pipe.raw"
EVIDENCE = "sf.test.pipe.evidence"
TALLIES = "sf.test.pipe.tallies"
TOPICS = {RAW: 4, EVIDENCE: 4, TALLIES: 4}
PARTITIONS = 4
RECORDS = 3000
FAILS = RECORDS // 10  # every tenth record lacks `on_hand`
T0_MS = 1705312500000  # 2024-01-15T09:55:00Z; 80 ms apart -> 09:55:00 .. 09:58:59.920, one 5-minute window
STEP_MS = 80
WINDOW = ("2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z")
BATCH = 200
#: The enforcer runs: exit on the Nth offset commit of a run (after its flush), then once more, then clean.
CRASH_AT = (3, 2, None)

#: `run enforcer` with `EnforcerStage._commit` replaced: on call number argv[1] (0 = never) it exits at once.
FAULTY_ENFORCER = """
import os, sys
from signal_factory.transports.kafka import enforcer_stage

crash_at = int(sys.argv[1])
calls = 0
real_commit = enforcer_stage.EnforcerStage._commit

def _commit(self, consumer, offsets, records):
    global calls
    calls += 1
    if calls == crash_at:  # the batch's evidence and tallies are flushed; its offsets are not committed
        sys.stderr.write('{"msg": "fault: exit before the offset commit"}\\n')
        sys.stderr.flush()
        os._exit(137)
    return real_commit(self, consumer, offsets, records)

enforcer_stage.EnforcerStage._commit = _commit
from signal_factory.cli.run import run_app
run_app(sys.argv[2:], prog_name="signal-factory run")
"""


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with kafka_cluster(TOPICS) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/orders, with this module's raw topic mapped to the tier-3 inventory dataset."""
    out = tmp_path_factory.mktemp("pipeline") / "orders"
    shutil.copytree(ROOT / "examples" / "orders", out)
    with (out / "topics.yaml").open("a") as f:
        f.write(f"  - {{topic: {RAW}, dataset: {URN}, producer: legacy-inventory-svc}}\n")
    return out


def _record(i: int) -> tuple[int, str, bytes, int]:
    """Record i: (partition, key, JSON value, timestamp ms); partitions round-robin, so offset = i // 4."""
    value: dict[str, object] = {"sku": f"SKU-{i % 97:03d}", "warehouse": f"ams-{i % 3}", "on_hand": i % 500}
    if i % 10 == 0:
        del value["on_hand"]  # required by inventory.updated:2 -> FAIL
    return i % PARTITIONS, f"SKU-{i % 97:03d}", json.dumps(value).encode(), T0_MS + i * STEP_MS


def _produce_raw(bootstrap: str) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(RECORDS):
        partition, key, value, ts = _record(i)
        producer.produce(RAW, value=value, key=key, partition=partition, timestamp=ts)
    assert producer.flush(30) == 0


@dataclass
class Oracle:
    """What an in-process enforcer makes of the same records (sampling is deterministic by coordinates)."""

    evidence: dict[tuple[int, int], tuple[str, str]]  # source (partition, offset) -> (evidence id, result)
    tallied: set[tuple[int, int]]  # sampled-out PASS records


def _oracle(config_dir: Path) -> Oracle:
    records = []
    for i in range(RECORDS):
        partition, key, value, ts = _record(i)
        offset = i // PARTITIONS
        records.append(RawRecord(topic=RAW, partition=partition, offset=offset, timestamp_ms=ts, key=key,
                                 value=value, origin=f"kafka:{RAW}/{partition}@{offset}"))
    batch = Enforcer(load_control_plane(config_dir)).process(records)
    evidence = {}
    for e in batch.evidence:
        assert e.source is not None
        assert e.source.partition is not None
        assert e.source.offset is not None
        evidence[(e.source.partition, e.source.offset)] = (e.evidence_id, e.validation.result)
    tallied = {(t.partition, o) for t in batch.tallies if t.partition is not None
               for a, b in t.ranges for o in range(a, b + 1)}
    assert sum(t.count for t in batch.tallies) == len(tallied)
    return Oracle(evidence, tallied)


@dataclass
class Pipeline:
    """The enforcer's output after its crashes and restarts, drained from the evidence and tally topics."""

    oracle: Oracle
    evidence: list[Evidence]
    tally_messages: int
    tallied_counts: int  # sum of PassTally.count over every tally message (re-sent ones included)
    tallied_offsets: list[tuple[int, int]]  # every counted source offset, once per time it was counted
    exit_codes: list[int]
    seconds: float


def _run_enforcer(bootstrap: str, config_dir: Path, group: str, crash_at: int | None, log: Path) -> int:
    """One enforcer run: until its injected crash, or (none) until the group has committed every raw record,
    then SIGTERM (it finishes the batch in hand and exits 0). Returns the exit code."""
    flags = ["enforcer", "--config", str(config_dir), "--bootstrap-servers", bootstrap, "--group-id", group,
             "--topics", RAW, "--evidence-topic", EVIDENCE, "--tally-topic", TALLIES, "--batch-size", str(BATCH)]
    for k, v in GROUP_PROPS.items():
        flags += ["-X", f"{k}={v}"]
    with log.open("a") as err:
        proc = subprocess.Popen([sys.executable, "-c", FAULTY_ENFORCER, str(crash_at or 0), *flags], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        if crash_at is None:
            want = high_watermarks(bootstrap, RAW)
            deadline = time.monotonic() + 60
            while committed_offsets(bootstrap, group, RAW) != want and proc.poll() is None:
                assert time.monotonic() < deadline, f"never caught up: {committed_offsets(bootstrap, group, RAW)}"
                time.sleep(0.25)
            proc.send_signal(signal.SIGTERM)
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def pipeline(bootstrap: str, config_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    started = time.monotonic()
    _produce_raw(bootstrap)
    assert high_watermarks(bootstrap, RAW) == {p: RECORDS // PARTITIONS for p in range(PARTITIONS)}
    group = f"sf-test-pipe-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("pipeline-logs") / "enforcer.log"
    codes = [_run_enforcer(bootstrap, config_dir, group, k, log) for k in CRASH_AT]
    assert codes == [137, 137, 0], log.read_text()[-3000:]
    evidence = [decode_evidence(m.value()) for m in drain(bootstrap, EVIDENCE)]
    counts, offsets, messages = 0, [], 0
    for m in drain(bootstrap, TALLIES):
        messages += 1
        for t in decode_tally_message(m.value()):
            assert (t.dataset_urn, t.topic) == (URN, RAW)
            assert t.partition is not None
            assert t.count == sum(b - a + 1 for a, b in t.ranges)
            counts += t.count
            offsets += [(t.partition, o) for a, b in t.ranges for o in range(a, b + 1)]
    return Pipeline(_oracle(config_dir), evidence, messages, counts, offsets, codes, time.monotonic() - started)


def _store_counts(url: str) -> tuple[int, int, int, list[tuple[int, int, int]]]:
    """(evidence rows, distinct ids, stored PASS tally total, [(evidence, pass, fail) per final breach])."""
    store = open_store(url)
    try:
        rows = store.evidence.by_dataset(URN, 0, 2**62, limit=100_000)
        tallied = sum(t.count for t in store.evidence.tallies(URN, 0, 2**62))
        finals = [s for s in store.signals.list(dataset_urn=URN, signal_type="CONTRACT_BREACH", limit=10_000)
                  if not s.provisional]
        for s in finals:
            assert s.window is not None
            assert (s.window.start, s.window.end) == WINDOW, s.window
        return (len(rows), len({e.evidence_id for e in rows}), tallied,
                [(s.metrics["evidence_count"], s.metrics["pass_count"], s.metrics["fail_count"]) for s in finals])
    finally:
        store.close()


def _assert_store_exact(url: str, oracle: Oracle) -> None:
    rows, ids, tallied, finals = _store_counts(url)
    assert rows == ids == len(oracle.evidence)  # each evidence once
    assert tallied == len(oracle.tallied)  # each sampled-out PASS record counted once
    # one final breach for the one window, counting every source record once
    assert finals == [(RECORDS, RECORDS - FAILS, FAILS)]


def test_enforcer_kill_between_flush_and_commit(pipeline: Pipeline, bootstrap: str, config_dir: Path,
                                                tmp_path: Path) -> None:
    oracle = pipeline.oracle
    every_source = {(p, o) for p in range(PARTITIONS) for o in range(RECORDS // PARTITIONS)}
    assert set(oracle.evidence).isdisjoint(oracle.tallied)
    assert set(oracle.evidence) | oracle.tallied == every_source
    assert sum(r == FAIL for _, r in oracle.evidence.values()) == FAILS
    assert sum(r == PASS for _, r in oracle.evidence.values()) > 0
    assert len(oracle.tallied) > RECORDS // 2

    # -- the enforcer's output: one id per evidence-bearing record; every other record counted --------------
    ids_by_source: dict[tuple[int, int], set[str]] = defaultdict(set)
    for e in pipeline.evidence:
        assert e.dataset_urn == URN
        assert e.source is not None
        assert e.source.partition is not None
        assert e.source.offset is not None
        ids_by_source[(e.source.partition, e.source.offset)].add(e.evidence_id)
    assert dict(ids_by_source) == {src: {i} for src, (i, _) in oracle.evidence.items()}  # one id per record
    distinct = {e.evidence_id for e in pipeline.evidence}
    assert len(distinct) == len(oracle.evidence)
    duplicates = len(pipeline.evidence) - len(distinct)
    assert duplicates > 0, "no evidence was re-sent: the crash window was not hit"
    assert set(pipeline.tallied_offsets) == oracle.tallied  # counted offsets: exactly the sampled-out records
    assert pipeline.tallied_counts == len(pipeline.tallied_offsets)
    assert pipeline.tallied_counts > len(oracle.tallied), "no tally was re-sent: the crash window was not hit"
    assert set(ids_by_source).isdisjoint(pipeline.tallied_offsets)  # evidence XOR tally, and nothing lost
    assert set(ids_by_source) | set(pipeline.tallied_offsets) == every_source

    # -- the signals stage counts each once --------------------------------------------------------------
    url = f"sqlite:///{tmp_path / 'signals.db'}"
    store = open_store(url)
    t0 = time.monotonic()
    try:
        cfg = stage_config({"bootstrap_servers": bootstrap, "group_id": f"sf-test-pipe-sig-{uuid.uuid4().hex[:8]}",
                            "evidence_topic": EVIDENCE, "tally_topic": TALLIES, "batch_size": 100,
                            "properties": [f"{k}={v}" for k, v in GROUP_PROPS.items()]})
        stage = SignalsStage(load_control_plane(config_dir), store, cfg, flush_when_idle_s=1.0)
        report = stage.run(threading.Event(), idle_exit_s=4)
    finally:
        store.close()
    assert report.poison == 0
    _assert_store_exact(url, oracle)
    assert report.evidence == len(pipeline.evidence)
    assert report.new_evidence == len(oracle.evidence)  # a duplicate is not new, even within one batch
    # the re-sent tallies' PASS records, exactly, were dropped
    assert report.tally_duplicates == pipeline.tallied_counts - len(oracle.tallied) > 0
    print(f"\nenforcer: {RECORDS} records, runs exited {pipeline.exit_codes}, {duplicates} duplicate evidence, "
          f"{pipeline.tally_messages} tally messages counting {pipeline.tallied_counts} for {len(oracle.tallied)} "
          f"sampled-out records, {pipeline.seconds:.1f}s; signals: {report.batches} batches, "
          f"{report.tally_duplicates} re-sent tallied records dropped, {time.monotonic() - t0:.1f}s")


class _SignalsProcess:
    """`run signals` as a subprocess (batches of 10 messages), its JSON log on a file."""

    def __init__(self, bootstrap: str, config_dir: Path, url: str, group: str, log: Path) -> None:
        cmd = [sys.executable, "-m", "signal_factory.cli.run", "signals", "--config", str(config_dir), "--db", url,
               "--bootstrap-servers", bootstrap, "--group-id", group, "--evidence-topic", EVIDENCE,
               "--tally-topic", TALLIES, "--batch-size", "10", "--flush-when-idle", "1"]
        for k, v in GROUP_PROPS.items():
            cmd += ["-X", f"{k}={v}"]
        self.log = log
        with log.open("w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def messages(self) -> list[str]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # librdkafka's own lines
            if isinstance(entry, dict):
                out.append(str(entry.get("msg")))
        return out

    def batches(self) -> int:
        return self.messages().count("batch committed")

    def wait(self, done: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            if done():
                return
            time.sleep(0.1)
        raise AssertionError(f"never {what} (exit {self.proc.poll()}):\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def _caught_up(bootstrap: str, url: str) -> Callable[[], bool]:
    """True once the store's checkpoints (the signals stage's positions) are at the topics' ends."""
    want = {checkpoint_key(t, p): hw for t in (EVIDENCE, TALLIES) for p, hw in high_watermarks(bootstrap, t).items()
            if hw > 0}

    def done() -> bool:
        store = open_store(url)
        try:
            return all(store.checkpoints.get(k) == hw for k, hw in want.items())
        finally:
            store.close()
    return done


def test_signals_stage_killed_mid_stream(pipeline: Pipeline, bootstrap: str, config_dir: Path,
                                         tmp_path: Path) -> None:
    """The same enforcer output, through `run signals` killed with SIGKILL after a few batches, then
    restarted: the store's counts are still exact."""
    oracle = pipeline.oracle
    url = f"sqlite:///{tmp_path / 'signals.db'}"
    open_store(url).close()
    group = f"sf-test-pipe-sigkill-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    first = _SignalsProcess(bootstrap, config_dir, url, group, tmp_path / "first.log")
    try:
        first.wait(lambda: first.batches() >= 8, "committed 8 batches")
    finally:
        first.kill()
    assert first.proc.returncode == -signal.SIGKILL
    before = first.batches()
    rows, _, tallied, finals = _store_counts(url)
    assert 0 < rows + tallied < len(oracle.evidence) + len(oracle.tallied), "the kill was not mid-stream"
    assert finals == []
    second = _SignalsProcess(bootstrap, config_dir, url, group, tmp_path / "second.log")
    try:
        caught_up = _caught_up(bootstrap, url)
        second.wait(caught_up, "caught up")
        # then idle: the windows are flushed after the last batch (the flush logged after it)
        second.wait(lambda: [m for m in second.messages() if m in ("batch committed", "windows flushed")][-1:]
                    == ["windows flushed"], "flushed the windows after its last batch", timeout_s=20)
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(30) == 0, second.log.read_text()[-3000:]
    finally:
        second.kill()
    assert second.batches() > 0
    _assert_store_exact(url, oracle)
    print(f"\nsignals killed after {before} batches ({rows} evidence, {tallied} tallied records stored), "
          f"restarted: {second.batches()} batches; {time.monotonic() - t0:.1f}s")
