"""Rebalances of the enforcer's consumer group lose nothing (issue 6, item 2).

Two `signal-factory run enforcer` processes share one group while Scenario 1's traffic trickles in:
a second instance joins mid-stream, an instance leaves (SIGTERM) mid-stream, an instance is killed
(-9) mid-stream and the survivor takes its partitions after the session timeout. In each case every
source record ends with evidence, re-emitted evidence (at-least-once) carries the same deterministic
id, and the distinct evidence is exactly Scenario 1's (1,247, of which 1,120 FAIL).

The raw topics are fresh per case (so the traffic can be produced while the instances run), which is
why this module has a broker of its own on the mock (`rebalance_bootstrap`); on a real cluster
(`SIGNAL_FACTORY_TEST_KAFKA`) the topics are re-created there instead.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signal_factory.model.evidence import FAIL, decode_evidence
from tests.transports.conftest import (
    GROUP_PROPS,
    ROOT,
    TRAFFIC,
    committed_offsets,
    drain,
    high_watermarks,
    kafka_cluster,
)

pytestmark = pytest.mark.slow
SCENARIO1_RECORDS = 1247
SCENARIO1_FAILS = 1120
BATCH = 10
CASES = ("join", "leave", "kill")
TALLIES = "sf.test.rebalance.tallies"


def _raw(case: str) -> str:
    return f"sf.test.rebalance.{case}.raw"


def _evidence(case: str) -> str:
    return f"sf.test.rebalance.{case}.evidence"


REBALANCE_TOPICS = {TALLIES: 1, **{_raw(c): 8 for c in CASES}, **{_evidence(c): 4 for c in CASES}}


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/orders, with this module's raw topics mapped to the orders dataset like raw.orders.events."""
    out = tmp_path_factory.mktemp("rebalance") / "orders"
    shutil.copytree(ROOT / "examples" / "orders", out)
    with (out / "topics.yaml").open("a") as f:
        for c in CASES:
            f.write(f"  - {{topic: {_raw(c)}, dataset: urn:dp:orders:created, producer: orders-svc}}\n")
    return out


@pytest.fixture(scope="module")
def rebalance_bootstrap() -> Iterator[str]:
    """Fresh topics per case: on the mock a cluster of this module's own (it has no CreateTopics API)."""
    with kafka_cluster(REBALANCE_TOPICS) as bootstrap:
        yield bootstrap


class _Trickle(threading.Thread):
    """Produces Scenario 1 lines to `topic` (same partitions, keys, headers, timestamps) `chunk` at a time,
    `pause_s` apart, until `hurry` is set; then the rest at once."""

    def __init__(self, bootstrap: str, topic: str, lines: list[str], chunk: int = 10, pause_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.lines, self.chunk, self.pause_s = bootstrap, topic, lines, chunk, pause_s
        self.hurry = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from confluent_kafka import Producer

        try:
            producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "linger.ms": 5})
            for i, line in enumerate(self.lines):
                d = json.loads(line)
                h = d.get("headers") or []
                producer.produce(self.topic, value=d["payload"].encode() if d.get("payload") is not None else None,
                                 key=d.get("key"), partition=d["partition"], timestamp=d["ts"],
                                 headers=[(h[j], h[j + 1].encode()) for j in range(0, len(h), 2)])
                if (i + 1) % self.chunk == 0 and not self.hurry.is_set():
                    assert producer.flush(30) == 0
                    self.sent = i + 1
                    self.hurry.wait(self.pause_s)
            assert producer.flush(30) == 0
            self.sent = len(self.lines)
        except BaseException as e:  # surfaced by finish()
            self.error = e

    def finish(self) -> None:
        self.hurry.set()
        self.join(60)
        assert not self.is_alive(), "the producer did not finish"
        if self.error is not None:
            raise self.error
        assert self.sent == len(self.lines)


class _Instance:
    """One `run enforcer` process; its JSON log (stderr) is read by a thread so progress can be polled."""

    def __init__(self, name: str, bootstrap: str, group: str, case: str, config: Path) -> None:
        cmd = [sys.executable, "-m", "signal_factory.cli.run", "enforcer", "--config", str(config),
               "--bootstrap-servers", bootstrap, "--group-id", group, "--topics", _raw(case),
               "--evidence-topic", _evidence(case), "--tally-topic", TALLIES, "--batch-size", str(BATCH)]
        for k, v in GROUP_PROPS.items():
            cmd += ["-X", f"{k}={v}"]
        self.name = name
        self.records = 0  # committed records, from the "batch committed" log lines
        self.batches = 0
        self.rebalance_losses = 0  # "offset commit lost to a rebalance"
        self.lost_records = 0  # records of those batches: produced, but re-processed by the new owner
        self.lines: list[str] = []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            try:
                entry: dict[str, Any] = json.loads(line)
            except ValueError:
                continue  # librdkafka's own log lines
            if entry.get("msg") == "batch committed":
                self.records = int(entry["total_records"])
                self.batches += 1
            elif "lost to a rebalance" in str(entry.get("msg", "")):
                self.rebalance_losses += 1
                self.lost_records += int(entry["records"])

    def wait_for_records(self, at_least: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.records < at_least and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        assert self.records >= at_least, (f"instance {self.name} committed {self.records} < {at_least} records "
                                          f"(exit code {self.proc.poll()}); log tail: {self.lines[-5:]}")

    def terminate(self, timeout_s: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _wait_until_caught_up(bootstrap: str, group: str, topic: str, timeout_s: float = 45.0) -> float:
    """Seconds until the group's committed offsets equal the topic's high watermarks."""
    want = high_watermarks(bootstrap, topic)
    assert sum(want.values()) == SCENARIO1_RECORDS
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if committed_offsets(bootstrap, group, topic) == want:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"group {group} never committed up to {want}: {committed_offsets(bootstrap, group, topic)}")


def _check_evidence(bootstrap: str, case: str) -> int:
    """The invariants; returns how many evidence messages were duplicates (re-emitted, same id)."""
    evidence = [decode_evidence(m.value()) for m in drain(bootstrap, _evidence(case), expect=SCENARIO1_RECORDS)]
    ids_by_source: dict[tuple[int | None, int | None], set[str]] = defaultdict(set)
    sources_by_id: dict[str, set[tuple[int | None, int | None]]] = defaultdict(set)
    result_by_id: dict[str, str] = {}
    for e in evidence:
        assert e.source is not None
        coord = (e.source.partition, e.source.offset)
        ids_by_source[coord].add(e.evidence_id)
        sources_by_id[e.evidence_id].add(coord)
        assert result_by_id.setdefault(e.evidence_id, e.validation.result) == e.validation.result
    want = high_watermarks(bootstrap, _raw(case))
    every_source = {(p, o) for p, hw in want.items() for o in range(hw)}
    assert set(ids_by_source) == every_source  # nothing lost, nothing from elsewhere
    assert all(len(ids) == 1 for ids in ids_by_source.values())  # a duplicate carries the same id
    assert all(len(coords) == 1 for coords in sources_by_id.values())  # an id names one source record
    assert len(sources_by_id) == SCENARIO1_RECORDS
    assert sum(r == FAIL for r in result_by_id.values()) == SCENARIO1_FAILS
    return len(evidence) - SCENARIO1_RECORDS


def _lines() -> list[str]:
    lines = Path(TRAFFIC).read_text().splitlines()
    assert len(lines) == SCENARIO1_RECORDS
    return lines


def _group(case: str) -> str:
    return f"sf-test-rebalance-{case}-{uuid.uuid4().hex[:8]}"


def test_second_instance_joins_mid_stream(rebalance_bootstrap: str, config_dir: Path) -> None:
    """A works through the first half alone; B joins while the second half trickles in; both do work."""
    bootstrap, case, group = rebalance_bootstrap, "join", _group("join")
    lines = _lines()
    half = len(lines) // 2
    first = _Trickle(bootstrap, _raw(case), lines[:half])
    first.hurry.set()
    first.start()
    first.finish()
    t0 = time.monotonic()
    a = _Instance("A", bootstrap, group, case, config_dir)
    b: _Instance | None = None
    rest = _Trickle(bootstrap, _raw(case), lines[half:], chunk=BATCH, pause_s=0.1)
    try:
        a.wait_for_records(200)
        a_before_join = a.records
        b = _Instance("B", bootstrap, group, case, config_dir)
        rest.start()
        b.wait_for_records(1, timeout_s=30)  # B was given partitions and committed a batch of them
        t_b = time.monotonic() - t0
        a_at_b = a.records
        rest.finish()
        caught_up = _wait_until_caught_up(bootstrap, group, _raw(case))
        assert a.terminate() == 0
        assert b.terminate() == 0
        a_after_b = a.records - a_at_b
    finally:
        rest.hurry.set()
        for inst in (a, b):
            if inst is not None:
                inst.close()
    duplicates = _check_evidence(bootstrap, case)
    assert b.records > 0
    assert a_after_b > 0  # A kept committing its share after B got partitions
    # a batch is re-emitted only when its commit was lost to the rebalance
    assert duplicates <= BATCH * (a.rebalance_losses + b.rebalance_losses)
    # every record committed once; a lost batch's records were produced twice but committed once
    assert a.records + b.records == SCENARIO1_RECORDS
    assert duplicates == a.lost_records + b.lost_records
    print(f"\njoin: A {a.records} records ({a_before_join} before B started, {a_after_b} after B's first commit), "
          f"B {b.records}; B's first commit {t_b:.1f}s after A started; caught up {caught_up:.1f}s after the last "
          f"produce; {duplicates} duplicate(s); commits lost to the rebalance A={a.rebalance_losses} "
          f"B={b.rebalance_losses}; total {time.monotonic() - t0:.1f}s")


@pytest.mark.parametrize("how", ["leave", "kill"])
def test_instance_leaves_mid_stream(rebalance_bootstrap: str, config_dir: Path, how: str) -> None:
    """A and B share the stream; B leaves (SIGTERM, exit 0) or is killed (-9) mid-stream; A takes its
    partitions (at once on a LeaveGroup, after the session timeout on a kill) and catches up alone."""
    bootstrap, case, group = rebalance_bootstrap, how, _group(how)
    t0 = time.monotonic()
    a = _Instance("A", bootstrap, group, case, config_dir)
    b = _Instance("B", bootstrap, group, case, config_dir)
    trickle = _Trickle(bootstrap, _raw(case), _lines(), chunk=BATCH, pause_s=0.1)
    trickle.start()
    try:
        a.wait_for_records(1)
        b.wait_for_records(1)  # both own partitions
        t_both = time.monotonic() - t0
        if how == "leave":
            assert b.terminate() == 0
        else:
            b.kill()
        t_gone = time.monotonic()
        a_at_gone, b_done, sent_at_gone = a.records, b.records, trickle.sent
        assert sent_at_gone < SCENARIO1_RECORDS - 100, "the traffic was (nearly) all out before B left"
        if how == "kill":  # keep the stream going past the session timeout, so A takes over mid-stream
            trickle.hurry.wait(float(GROUP_PROPS["session.timeout.ms"]) / 1000 + 1)
        trickle.finish()
        caught_up = _wait_until_caught_up(bootstrap, group, _raw(case))
        after_gone = time.monotonic() - t_gone
        assert a.terminate() == 0
    finally:
        trickle.hurry.set()
        a.close()
        b.close()
    duplicates = _check_evidence(bootstrap, case)
    assert a.records > a_at_gone
    # re-emitted: batches whose commit was lost to a rebalance, and on a kill the batch B had in flight
    assert duplicates <= BATCH * (a.rebalance_losses + b.rebalance_losses + (how == "kill"))
    # only A was alive after B went, so A processed every record produced after that, on every partition.
    # B's count is read once its log is fully read (close() joins the reader): at the kill the reader may
    # not have parsed B's last "batch committed" lines yet.
    assert a.records + b.records >= SCENARIO1_RECORDS
    print(f"\n{how}: both instances committing {t_both:.1f}s after start; B {b_done} records, A {a_at_gone} when B "
          f"went ({sent_at_gone} produced), A {a.records} at the end; caught up {after_gone:.1f}s after B went "
          f"({caught_up:.1f}s after the last produce); {duplicates} duplicate(s); commits lost to the rebalance "
          f"A={a.rebalance_losses} B={b.rebalance_losses}; total {time.monotonic() - t0:.1f}s")
