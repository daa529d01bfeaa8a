"""Hot reload in the Kafka enforcer stage: a topics.yaml change is taken between batches, never within one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from confluent_kafka import Producer

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.model.evidence import decode_evidence
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import EnforcerStage
from signal_factory.transports.kafka.metrics import StageMetrics
from tests.controlplane.copies import NEW_TOPIC, add_topic, copy_example
from tests.transports.conftest import GROUP_PROPS, drain, kafka_cluster

pytestmark = pytest.mark.slow
EVIDENCE = "sf.test.reload.evidence"


class _Hooked(Enforcer):
    """An enforcer that calls `hook` when it starts a batch (to reload while that batch is in flight)."""

    def __init__(self, cp: ControlPlane, hook: Callable[[], None] | None) -> None:
        super().__init__(cp)
        self.hook = hook

    def process(self, records: Sequence[RawRecord | MalformedInput]) -> EnforceBatch:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return super().process(records)


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with kafka_cluster({NEW_TOPIC: 1, EVIDENCE: 1}) as servers:
        yield servers


def produce(bootstrap: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(n):
        value = {"event_id": f"e{i}", "event_type": "orders.created.v1", "timestamp": "2024-01-15T09:55:00Z",
                 "payload": {"order_id": f"ORD-2024-0115-{i:05d}", "customer_id": "CUST-1", "total_amount": 10.5,
                             "currency": "USD", "created_at": "2024-01-15T09:55:00Z"}}
        producer.produce(NEW_TOPIC, value=json.dumps(value).encode(), partition=0, timestamp=1705312500000,
                         headers=[("x-obs-producer-service", b"orders-svc")])
    assert producer.flush(10) == 0


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_topic_added_is_taken_between_batches(bootstrap: str, tmp_path: Path) -> None:
    """Reloaded while batch 1 is being enforced: batch 1 finishes on the old topics (UNKNOWN_TOPIC), batch 2
    runs on the new ones (its dataset, PASS), with no restart; the reload is counted."""
    root = copy_example(tmp_path)
    metrics = StageMetrics()
    builds: list[int] = []
    reloader: ConfigReloader[Enforcer]

    def edit_and_reload() -> None:
        add_topic(root)
        assert reloader.reload("test") == "ok"

    def build(cp: ControlPlane) -> Enforcer:
        builds.append(1)
        return _Hooked(cp, edit_and_reload if len(builds) == 1 else None)

    reloader = ConfigReloader(root, build, on_result=metrics.config_reload)
    cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id="sf-test-reload", topics=(NEW_TOPIC,),
                      evidence_topic=EVIDENCE, properties=GROUP_PROPS)
    stage = EnforcerStage(reloader.current.cp, cfg, reloader=reloader, metrics=metrics)
    produce(bootstrap, 2)
    stop = threading.Event()
    worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_for(lambda: stage.report.records >= 2, "batch 1")
        assert reloader.current.generation == 1
        produce(bootstrap, 1)
        wait_for(lambda: stage.report.records >= 3, "batch 2")
    finally:
        stop.set()
        worker.join(30)
    assert stage.report.batches == 2
    evidence = sorted((decode_evidence(m.value()) for m in drain(bootstrap, EVIDENCE, expect=3)),
                      key=lambda e: e.source.offset if e.source and e.source.offset is not None else -1)
    unknown = ("FAIL", [f"UNKNOWN_TOPIC:{NEW_TOPIC}"])
    assert [(e.validation.result, e.validation.reason_codes) for e in evidence] == [unknown, unknown, ("PASS", [])]
    assert evidence[2].dataset_urn == "urn:dp:orders:created"
    assert metrics.registry.get_sample_value("signal_factory_config_reloads_total", {"result": "ok"}) == 1
    assert metrics.registry.get_sample_value("signal_factory_config_reloads_total", {"result": "rejected"}) == 0
