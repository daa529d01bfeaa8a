"""What the test brokers do: a real client round trip, and how far their transactions go.

Each test runs on librdkafka's mock cluster ("mock") and, when there is one, on real Kafka ("kafka": the
session's KRaft broker or the cluster SIGNAL_FACTORY_TEST_KAFKA names): the mock's gap (transactional
offsets are not stored) is why the other modules run on real Kafka.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.transports.conftest import ON_MOCK, POISON_RAW, committed_offsets, drain

pytestmark = pytest.mark.slow


@pytest.fixture(params=["mock", pytest.param("kafka", marks=pytest.mark.skipif(ON_MOCK, reason="no real Kafka"))])
def broker(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, bootstrap servers): the mock cluster, then real Kafka."""
    name = "mock_kafka_bootstrap" if request.param == "mock" else "kafka_bootstrap"
    return request.param, request.getfixturevalue(name)


def test_producer_consumer_round_trip(broker: tuple[str, str]) -> None:
    """Key, value, headers and create-time timestamp survive the trip through the broker."""
    kafka_bootstrap = broker[1]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce("sf.test.broker", key=b"k", value=b"v", headers=[("X-A", b"1")], partition=1,
                     timestamp=1705312500123)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"rt-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition("sf.test.broker", 1, 0)])
    msg = None
    for _ in range(50):
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            break
    consumer.close()
    assert msg is not None
    assert msg.error() is None
    assert (msg.key(), msg.value(), msg.headers(), msg.timestamp()) == (b"k", b"v", [("X-A", b"1")], (1, 1705312500123))


def test_transactions(broker: tuple[str, str]) -> None:
    """init/begin/commit/abort and send_offsets_to_transaction succeed; on the mock, transactional offsets do not stick.

    librdkafka 2.16's mock answers TxnOffsetCommit without storing the offsets (and serves aborted
    records to read_committed consumers). A real cluster must store them and hide aborted records.
    """
    kind, kafka_bootstrap = broker
    topic, group = "sf.test.broker", f"txn-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.assign([TopicPartition(POISON_RAW, 1, 0)])
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"sf-test-{group}"})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed-" + group.encode(), partition=1)
    producer.send_offsets_to_transaction([TopicPartition(POISON_RAW, 1, 7)], consumer.consumer_group_metadata(), 10)
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted-" + group.encode(), partition=1)
    producer.flush(10)
    producer.abort_transaction(10)
    consumer.close()

    values = {m.value() for m in drain(kafka_bootstrap, topic, idle_s=1.0)}
    stored = committed_offsets(kafka_bootstrap, group, POISON_RAW)[1]
    assert b"committed-" + group.encode() in values
    if kind == "mock":
        # The stage's exactly-once tests are skipped on the mock because of this; when it fails, un-skip them.
        assert stored < 0, "the mock now stores transactional offsets: un-skip the exactly-once kill -9 test"
        # Not asserted (newer librdkafka sources track aborted ranges): 2.16's mock serves aborted records.
    else:
        assert stored == 7
        assert b"aborted-" + group.encode() not in values
