"""Kafka fixtures: a broker for the session, and helpers to fill and drain topics.

Which broker (`BROKER`, decided at import so that skip marks can read it):

* `SIGNAL_FACTORY_TEST_KAFKA=host:port[,...]`: that cluster ("external"; topics are deleted and re-created
  with the AdminClient, so point it at a cluster dedicated to tests);
* else, when `scripts/ensure-kafka.sh` has fetched Apache Kafka: one real KRaft broker for the whole session
  (`kafka_broker.KafkaBroker`, started on first use, stopped by PID at the end), every module's topics
  created on it under names of their own ("kafka");
* else, or with `SIGNAL_FACTORY_TEST_KAFKA=mock`: librdkafka's mock cluster (`kafka_mock.py`), one per
  `kafka_cluster` call ("mock").
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402 - after the importorskip

from tests.transports.kafka_broker import KafkaBroker, create_topics, installed_version  # noqa: E402
from tests.transports.kafka_mock import MockKafka  # noqa: E402

KAFKA_ENV = "SIGNAL_FACTORY_TEST_KAFKA"
_CHOSEN = os.environ.get(KAFKA_ENV, "")
BROKER = "mock" if _CHOSEN == "mock" else "external" if _CHOSEN else "kafka" if installed_version() else "mock"
ON_MOCK = BROKER == "mock"
ROOT = Path(__file__).resolve().parents[2]
TRAFFIC = ROOT / "examples" / "orders" / "scenario1" / "traffic.jsonl"
RAW = "raw.orders.events"
POISON_RAW = "raw.inventory.events"
TOPICS = {RAW: 8, POISON_RAW: 2, "signal_factory.evidence": 4, "signal_factory.evidence.tallies": 1,
          "sf.test.evidence.kill": 4, "sf.test.evidence.poison": 2, "sf.test.evidence.term": 2,
          "sf.test.evidence.kill-eos": 4, "sf.test.evidence.eos": 4, "sf.test.broker": 2,
          "sf.test.sig-metrics.evidence": 2, "sf.test.sig-metrics.tallies": 2, "sf.test.sig-metrics.signals": 2,
          "sf.test.sig-poison.evidence": 2, "sf.test.sig-poison.tallies": 2}
#: Fast failure detection, so a restarted instance gets its partitions back within seconds of a kill -9.
GROUP_PROPS = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}


#: The session's broker, once a test asked for it ("broker" -> it).
_SESSION: dict[str, KafkaBroker] = {}


def real_kafka() -> str:
    """Bootstrap servers of the session's real cluster: the external one, or our broker (started on first use)."""
    if BROKER == "external":
        return _CHOSEN
    assert BROKER == "kafka", "no real Kafka here: run scripts/ensure-kafka.sh or set " + KAFKA_ENV
    if "broker" not in _SESSION:
        _SESSION["broker"] = KafkaBroker().start()
        # Tests outside tests/transports (no `_stop_session_broker` there) may be the only users.
        atexit.register(_SESSION["broker"].stop)
    return _SESSION["broker"].bootstrap


@pytest.fixture(scope="session", autouse=True)
def _stop_session_broker() -> Iterator[None]:
    """Stops the session's broker (if a test started it) by PID when the session ends."""
    yield
    broker = _SESSION.pop("broker", None)
    if broker is not None:
        broker.stop()


def pytest_report_header() -> str:
    version = installed_version()
    return {"mock": "kafka: librdkafka's mock cluster (run scripts/ensure-kafka.sh for a real broker)",
            "external": f"kafka: the external cluster {_CHOSEN} ({KAFKA_ENV})",
            "kafka": f"kafka: Apache Kafka {version} (KRaft, one node, started by the tests)"}[BROKER]


@contextlib.contextmanager
def kafka_cluster(topics: dict[str, int], *, own: bool = False) -> Iterator[str]:
    """Bootstrap servers of a cluster holding `topics` (fresh).

    Mock: a cluster of the caller's own (the mock has no CreateTopics API). Real Kafka: the session's
    broker with `topics` created on it (callers name their topics uniquely); `own=True` starts a broker
    for the caller alone (for topic names the session's topics already use). External: topics re-created.
    """
    if BROKER == "mock":
        with MockKafka(topics) as mock:
            yield mock.bootstrap
    elif own and BROKER == "kafka":
        with KafkaBroker() as broker:
            broker.create_topics(topics)
            yield broker.bootstrap
    else:
        bootstrap = real_kafka()
        create_topics(bootstrap, topics, recreate=BROKER == "external")
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with kafka_cluster(TOPICS) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def mock_kafka_bootstrap() -> Iterator[str]:
    """librdkafka's mock cluster with `TOPICS`, whatever `BROKER` is (for tests of the mock itself)."""
    with MockKafka(TOPICS) as mock:
        yield mock.bootstrap


def produce_traffic(bootstrap: str, path: Path = TRAFFIC, topic: str = RAW) -> int:
    """kcat -J lines -> the same partitions, keys, headers and timestamps (offsets are the broker's)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    n = 0
    with path.open() as f:
        for line in f:
            d = json.loads(line)
            h = d.get("headers") or []
            producer.produce(topic, value=d["payload"].encode() if d.get("payload") is not None else None,
                             key=d.get("key"), partition=d["partition"], timestamp=d["ts"],
                             headers=[(h[i], h[i + 1].encode()) for i in range(0, len(h), 2)])
            n += 1
    assert producer.flush(30) == 0
    return n


@pytest.fixture(scope="session")
def scenario1_raw(kafka_bootstrap: str) -> int:
    """Scenario 1's 1,247 records on `raw.orders.events`, produced once per session."""
    return produce_traffic(kafka_bootstrap)


def drain(bootstrap: str, topic: str, *, expect: int | None = None, idle_s: float = 3.0,
          timeout_s: float = 60.0) -> list[Any]:
    """Every committed message on `topic` (read_committed, all partitions from the start, no group join)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"sf-test-drain-{uuid.uuid4().hex[:8]}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in meta.partitions])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = consumer.consume(1000, 0.2)
            good = [m for m in msgs if m.error() is None]
            if good:
                out.extend(good)
                last = time.monotonic()
            elif (expect is None or len(out) >= expect) and time.monotonic() - last >= idle_s:
                break
            if expect is not None and len(out) >= expect and time.monotonic() - last >= min(idle_s, 1.0):
                break
    finally:
        consumer.close()
    return out


def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (-1001 = none), read without joining the group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        got = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return {tp.partition: tp.offset for tp in got}
    finally:
        consumer.close()


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sf-test-watermarks"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        consumer.close()
