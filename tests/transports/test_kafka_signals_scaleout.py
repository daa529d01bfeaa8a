"""The signals stage scaled out: several ACTIVE instances in one group, each owning its partitions' engines.

Evidence and tally topics with 4 partitions each, keyed by dataset URN: Scenario 1's evidence for
urn:dp:orders:created and a synthetic copy for urn:dp:inventory:updated (their keys hash to different
partitions, which the range assignor gives to different members). Two instances process at once; one is
killed with SIGKILL mid-stream, the other takes its partitions over (lock, snapshot, store checkpoints);
the store then holds each evidence once, one final CONTRACT_BREACH per dataset window with the exact
evidence count, and one incident per (dataset, signature) (inventory is tier 3: SEV-3 opens none).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import msgspec
import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.model.evidence import decode_evidence, encode_evidence
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.database import SqlStore
from signal_factory.stores.sql.locks import PgPartitionLocks
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.signals_stage import SignalsStage
from tests.transports.conftest import GROUP_PROPS, ROOT, kafka_cluster
from tests.transports.test_kafka_signals import TOTAL, URN, Messages, _produce, _Stage, scenario1, store_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
__all__ = ["scenario1", "store_url"]  # fixtures shared with test_kafka_signals
INVENTORY = "urn:dp:inventory:updated"
PREFIX = "sf.test.sig-scale"
MISMATCH = "sf.test.sig-scale-mismatch"
JOIN = "sf.test.sig-join"
TOPICS = {f"{PREFIX}.evidence": 4, f"{PREFIX}.tallies": 4, f"{MISMATCH}.evidence": 4, f"{MISMATCH}.tallies": 1,
          f"{JOIN}.evidence": 4, f"{JOIN}.tallies": 4}


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with kafka_cluster(TOPICS) as bootstrap:
        yield bootstrap


def _as_inventory(messages: Messages) -> Messages:
    """Scenario 1's evidence and tallies re-keyed to another dataset, with ids of their own."""
    out: Messages = []
    for kind, _key, value in messages:
        if kind == "evidence":
            e = decode_evidence(value)
            e = msgspec.structs.replace(e, dataset_urn=INVENTORY, evidence_id=f"inv-{e.evidence_id}")
            out.append((kind, INVENTORY.encode(), encode_evidence(e)))
        else:
            t = msgspec.json.decode(value)
            out.append((kind, INVENTORY.encode(), msgspec.json.encode({**t, "dataset_urn": INVENTORY})))
    return out


class _ScaledStage(_Stage):
    """`run signals` with a small batch (so a kill lands mid-stream) and a longer idle flush."""

    def __init__(self, bootstrap: str, url: str, prefix: str = PREFIX) -> None:
        cmd = [sys.executable, "-m", "signal_factory.cli.run", "signals", "--config", str(ROOT / "examples" / "orders"),
               "--db", url, "--bootstrap-servers", bootstrap, "--group-id", f"{prefix}.group",
               "--evidence-topic", f"{prefix}.evidence", "--tally-topic", f"{prefix}.tallies", "--batch-size", "10",
               "--flush-when-idle", "3"]
        for k, v in GROUP_PROPS.items():
            cmd += ["-X", f"{k}={v}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines = queue.Queue()
        self.seen = []
        self.raw = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def drain(self) -> None:
        while not self.lines.empty():
            self.seen.append(self.lines.get())

    def owned(self) -> set[int]:
        """Evidence partitions owned now (claimed since the last revocation)."""
        self.drain()
        owned: set[int] = set()
        for e in self.seen:
            if e.get("msg") == "partition owned":
                owned.add(int(e["partition"]))
            elif e.get("msg") == "partitions revoked":
                owned -= {int(p.rsplit("/", 1)[1]) for p in e["partitions"]}
        return owned

    def wait_owned(self, n: int, timeout_s: float = 40.0) -> set[int]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.owned()) == n:
                return self.owned()
            time.sleep(0.2)
        raise AssertionError(f"never owned {n} partitions (owns {self.owned()}):\n{''.join(self.raw[-20:])}")

    def batch_partitions(self) -> set[str]:
        self.drain()
        return {p for e in self.seen if e.get("msg") == "batch committed" for p in e.get("partitions", [])}


def _assert_exact(url: str) -> None:
    store = open_store(url)
    try:
        for urn in (URN, INVENTORY):
            evidence = store.evidence.by_dataset(urn, 0, 2**62, limit=100_000)
            assert len(evidence) == TOTAL, urn
            assert len({e.evidence_id for e in evidence}) == TOTAL, urn
            finals = [s for s in store.signals.list(dataset_urn=urn, signal_type="CONTRACT_BREACH", limit=10_000)
                      if not s.provisional]
            assert len(finals) == 1, (urn, [(s.signal_id, s.window) for s in finals])
            (final,) = finals
            assert final.state == "CRITICAL", urn
            assert final.metrics["evidence_count"] == TOTAL, urn
            assert final.metrics["fail_count"] == 1120, urn
            assert final.window is not None
            assert (final.window.start, final.window.end) == ("2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z")
        incidents = store.incidents.list(limit=100)
        per_key = Counter((i.dataset_urn, i.failure_signature) for i in incidents)
        assert per_key
        assert all(n == 1 for n in per_key.values()), per_key
        # Inventory is tier 3: its CRITICAL breach is SEV-3, below `open_incidents_for` (alerting.yaml).
        assert [(i.incident_id, i.dataset_urn, i.severity) for i in incidents] == [("INC-1", URN, "SEV-1")]
    finally:
        store.close()


def test_two_active_instances_then_kill_minus_9(bootstrap: str, scenario1: Messages, store_url: str) -> None:
    started = time.monotonic()
    a = _ScaledStage(bootstrap, store_url)
    b: _ScaledStage | None = None
    try:
        a.wait_for(lambda e: str(e.get("msg", "")).startswith("scale-out mode"), "scale-out mode")
        a.wait_owned(4)
        b = _ScaledStage(bootstrap, store_url)
        owned_b = b.wait_owned(2)
        owned_a = a.wait_owned(2)
        assert owned_a.isdisjoint(owned_b), (owned_a, owned_b)
        _produce(bootstrap, PREFIX, scenario1 + _as_inventory(scenario1))
        a.committed(200)
        b.committed(200)
    finally:
        a.kill9()
    assert b is not None
    try:
        done_a = max(e["total_evidence"] for e in a.seen if e.get("msg") == "batch committed")
        both = a.batch_partitions(), b.batch_partitions()
        assert all(any(p.startswith(f"{PREFIX}.evidence/") for p in ps) for ps in both), both
        assert done_a < TOTAL, "the killed instance had already finished: the kill was not mid-stream"
        b.wait_owned(4, timeout_s=30)
        b.wait_for(lambda e: e.get("msg") == "windows flushed" and e["hosts"] == 4, "a flush of all 4 hosts",
                   timeout_s=60)
    finally:
        assert b.terminate() == 0
    print(f"two active instances; kill -9 of one after it committed {done_a} evidence; takeover and exact "
          f"counts in {time.monotonic() - started:.1f}s")
    _assert_exact(store_url)


def test_an_instance_joins_mid_stream_and_one_leaves_with_sigterm(bootstrap: str, scenario1: Messages,
                                                                   store_url: str) -> None:
    """Evidence trickles in; B joins while A is busy (partitions handed over under their locks), then A
    leaves with SIGTERM (commits, releases its locks) and B takes everything: counts exact."""
    messages = scenario1 + _as_inventory(scenario1)
    messages = [m for pair in zip(messages[:TOTAL], messages[TOTAL:], strict=True) for m in pair]  # both datasets
    trickle = threading.Thread(target=lambda: [(_produce(bootstrap, JOIN, messages[i:i + 50]), time.sleep(0.3))
                                               for i in range(0, len(messages), 50)], daemon=True)
    a = _ScaledStage(bootstrap, store_url, JOIN)
    b: _ScaledStage | None = None
    try:
        a.wait_owned(4)
        trickle.start()
        a.committed(200)
        b = _ScaledStage(bootstrap, store_url, JOIN)
        owned_b = b.wait_owned(2)
        owned_a = a.wait_owned(2)
        assert owned_a.isdisjoint(owned_b)
        b.committed(1)  # B works on its share while the rest still trickles in
        assert trickle.is_alive(), "the input finished before B joined: not mid-stream"
        assert a.terminate() == 0  # leaves the group: revocation commits and releases its locks
        b.wait_owned(4, timeout_s=30)
        trickle.join(60)
        b.wait_for(lambda e: e.get("msg") == "windows flushed" and e["hosts"] == 4, "a flush of all 4 hosts",
                   timeout_s=60)
    finally:
        if a.proc.poll() is None:
            a.kill9()
        if b is not None:
            assert b.terminate() == 0
    _assert_exact(store_url)


def test_partition_locks_are_exclusive_per_partition(store_url: str) -> None:
    one, two = open_store(store_url), open_store(store_url)
    assert isinstance(one, SqlStore)
    assert isinstance(two, SqlStore)
    a, b = PgPartitionLocks(one), PgPartitionLocks(two)
    try:
        assert a.try_acquire("t", 0)
        assert a.try_acquire("t", 0)  # re-entrant for its holder
        assert not b.try_acquire("t", 0)
        assert b.try_acquire("t", 1)  # another partition is independent
        assert a.held()
        assert b.held()
        a.release("t", 0)
        assert b.try_acquire("t", 0)
    finally:
        a.close()
        b.close()
        one.close()
        two.close()


def test_unequal_partition_counts_refuse_scale_out(bootstrap: str, store_url: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Evidence 4 partitions, tallies 1: no scale-out (a dataset's tallies could reach another host)."""
    cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id=f"{MISMATCH}.group",
                      topics=(f"{MISMATCH}.evidence", f"{MISMATCH}.tallies"), evidence_topic=f"{MISMATCH}.evidence",
                      tally_topic=f"{MISMATCH}.tallies")
    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    try:
        stage = SignalsStage(load_control_plane(ROOT / "examples" / "orders"), store, cfg)
        with caplog.at_level("ERROR", logger="signal_factory.transports.kafka.signals"):
            assert stage._partition_counts_match() is False
        assert any("refusing to scale out" in r.getMessage() and "has 4 partitions" in r.getMessage()
                   for r in caplog.records)
    finally:
        store.close()
