"""Kafka fixtures: a broker for the session, and helpers to fill and drain topics.

`kafka_bootstrap`: librdkafka's mock cluster in a child process (`kafka_mock.py`), with `TOPICS`
pre-created; or, when `SIGNAL_FACTORY_TEST_KAFKA` names bootstrap servers, that cluster (the topics
are deleted and re-created with the AdminClient, so point it at a cluster dedicated to tests).
"""

from __future__ import annotations

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

from tests.transports.kafka_mock import MockKafka  # noqa: E402

KAFKA_ENV = "SIGNAL_FACTORY_TEST_KAFKA"
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


def _recreate_topics(bootstrap: str, topics: dict[str, int]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in topics if t in existing]
    if doomed:
        for f in admin.delete_topics(doomed, operation_timeout=30).values():
            f.result()
        time.sleep(2)
    for f in admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()]).values():
        f.result()


@contextlib.contextmanager
def kafka_cluster(topics: dict[str, int]) -> Iterator[str]:
    """Bootstrap servers of a cluster holding `topics` (fresh): the one SIGNAL_FACTORY_TEST_KAFKA names
    (topics deleted and re-created), else a mock cluster of the caller's own (it has no CreateTopics API)."""
    real = os.environ.get(KAFKA_ENV)
    if real:
        _recreate_topics(real, topics)
        yield real
        return
    with MockKafka(topics) as mock:
        yield mock.bootstrap


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with kafka_cluster(TOPICS) as bootstrap:
        yield bootstrap


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
