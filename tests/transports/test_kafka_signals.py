"""The signals stage (`run signals`) as a Kafka consumer group over PostgreSQL: kill -9 and standby takeover.

Store: PostgreSQL (the session server of `tests/fixtures_db.py`), a fresh schema per test. Broker: a
librdkafka mock cluster of this module's own (its topics are not the enforcer tests'), or the cluster
named by SIGNAL_FACTORY_TEST_KAFKA (topics deleted and re-created).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import encode_evidence
from signal_factory.sources.jsonlines import read_lines
from signal_factory.stores.sql import open_store
from tests.fixtures_db import pg_schema
from tests.transports.conftest import GROUP_PROPS, ROOT, TRAFFIC, kafka_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
URN = "urn:dp:orders:created"
TOTAL = 1247
TOPICS = {"sf.test.sig-kill.evidence": 4, "sf.test.sig-kill.tallies": 1,
          "sf.test.sig-standby.evidence": 4, "sf.test.sig-standby.tallies": 1}
Messages = list[tuple[str, bytes, bytes]]  # (topic kind, key, value)


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with kafka_cluster(TOPICS) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
def scenario1() -> Messages:
    """Scenario 1 through the enforcer in-process: each evidence JSON keyed by dataset URN (and tallies)."""
    batch = Enforcer(load_control_plane(ROOT / "examples" / "orders")).process(
        list(read_lines(TRAFFIC.read_bytes().splitlines(), str(TRAFFIC))))
    assert len(batch.evidence) == TOTAL
    import msgspec

    return ([("evidence", e.dataset_urn.encode(), encode_evidence(e)) for e in batch.evidence]
            + [("tallies", t.dataset_urn.encode(), msgspec.json.encode(t)) for t in batch.tallies])


@pytest.fixture
def store_url(_pg_admin: Engine, postgres_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema for this test only (its subprocesses share it)."""
    with pg_schema(_pg_admin, postgres_url, "sf_sig_") as url:
        yield url


def _produce(bootstrap: str, prefix: str, messages: Messages) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for kind, key, value in messages:
        producer.produce(f"{prefix}.{kind}", key=key, value=value)
    assert producer.flush(30) == 0


class _Stage:
    """`run signals` as a subprocess; its JSON log lines collected by a reader thread."""

    def __init__(self, bootstrap: str, prefix: str, url: str) -> None:
        cmd = [sys.executable, "-m", "signal_factory.cli.run", "signals", "--config", str(ROOT / "examples" / "orders"),
               "--db", url, "--bootstrap-servers", bootstrap, "--group-id", f"{prefix}.group",
               "--evidence-topic", f"{prefix}.evidence", "--tally-topic", f"{prefix}.tallies", "--batch-size", "50",
               "--flush-when-idle", "2"]
        for k, v in GROUP_PROPS.items():
            cmd += ["-X", f"{k}={v}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self.lines.put(entry)

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], what: str, timeout_s: float = 40.0) -> dict[str, Any]:
        for entry in self.seen:
            if pred(entry):
                return entry
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                entry = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(entry)
            if pred(entry):
                return entry
        tail = "".join(self.raw[-20:])
        raise AssertionError(f"the signals stage never logged {what} (exit code {self.proc.poll()}):\n{tail}")

    def committed(self, at_least: int, timeout_s: float = 40.0) -> int:
        entry = self.wait_for(lambda e: e.get("msg") == "batch committed" and e["total_evidence"] >= at_least,
                              f"{at_least} evidence committed", timeout_s)
        return int(entry["total_evidence"])

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._close()

    def _close(self) -> None:
        self._reader.join(10)  # EOF once the process is gone
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def batches(self) -> int:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return sum(1 for e in self.seen if e.get("msg") == "batch committed")


def _assert_exact(url: str) -> None:
    """Exactly Scenario 1: 1,247 evidence, one final CRITICAL breach over them all, one SEV-1 incident."""
    store = open_store(url)
    try:
        evidence = store.evidence.by_dataset(URN, 0, 2**62, limit=100_000)
        assert len(evidence) == TOTAL
        assert len({e.evidence_id for e in evidence}) == TOTAL
        finals = [s for s in store.signals.list(dataset_urn=URN, signal_type="CONTRACT_BREACH", limit=10_000)
                  if not s.provisional]
        assert len(finals) == 1, [(s.signal_id, s.window) for s in finals]
        (final,) = finals
        assert final.state == "CRITICAL"
        assert final.metrics["evidence_count"] == TOTAL
        assert final.metrics["fail_count"] == 1120
        assert final.window is not None
        assert (final.window.start, final.window.end) == ("2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z")
        incidents = store.incidents.list(limit=100)
        assert [(i.incident_id, i.severity) for i in incidents] == [("INC-1", "SEV-1")]
    finally:
        store.close()


def test_kill_minus_9_then_restart_counts_exactly(bootstrap: str, scenario1: Messages, store_url: str) -> None:
    """SIGKILL mid-stream, restart: the store holds each evidence once and the signal counts are exact."""
    prefix = "sf.test.sig-kill"
    _produce(bootstrap, prefix, scenario1[:700])  # the rest arrives after the kill: the kill is mid-stream
    first = _Stage(bootstrap, prefix, store_url)
    try:
        done = first.committed(300)
    finally:
        first.kill9()
    assert done < TOTAL
    _produce(bootstrap, prefix, scenario1[700:])

    second = _Stage(bootstrap, prefix, store_url)
    try:
        assigned = second.wait_for(lambda e: e.get("msg") == "partitions assigned"
                                   and any(f"{prefix}.evidence/" in p for p in e["partitions"]), "an assignment")
        resumed = sum(int(p.rsplit("@", 1)[1]) for p in assigned["partitions"] if f"{prefix}.evidence/" in p
                      and int(p.rsplit("@", 1)[1]) >= 0)
        assert resumed >= done  # seeked to the store's checkpoints, not the group's (async) Kafka commits
        second.wait_for(lambda e: e.get("msg") == "windows flushed" and e["total_evidence"] > 0,
                        "a flush after catching up", timeout_s=45)
    finally:
        assert second.terminate() == 0
    print(f"kill -9 after {done} of {TOTAL} evidence committed; the restart resumed from the store's checkpoints")
    _assert_exact(store_url)


def test_standby_takes_over_when_the_owner_dies(bootstrap: str, scenario1: Messages, store_url: str) -> None:
    """Two instances: only the owner-lock holder processes; kill -9 it, the standby resumes, counts stay exact."""
    prefix = "sf.test.sig-standby"
    active = _Stage(bootstrap, prefix, store_url)
    standby: _Stage | None = None
    try:
        active.wait_for(lambda e: e.get("msg") == "owner lock acquired", "owner lock acquired")
        standby = _Stage(bootstrap, prefix, store_url)
        standby.wait_for(lambda e: str(e.get("msg", "")).startswith("waiting for the owner lock"), "waiting")
        _produce(bootstrap, prefix, scenario1[:700])
        active.committed(300)
        assert standby.batches() == 0, "the standby processed while another instance owned the store"
    finally:
        active.kill9()
    assert standby is not None
    _produce(bootstrap, prefix, scenario1[700:])
    try:
        standby.wait_for(lambda e: e.get("msg") == "owner lock acquired", "takeover", timeout_s=20)
        standby.wait_for(lambda e: e.get("msg") == "windows flushed" and e["total_evidence"] > 0,
                         "a flush after catching up", timeout_s=45)
    finally:
        assert standby.terminate() == 0
    _assert_exact(store_url)
