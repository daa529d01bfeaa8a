"""Hot reload in the Kafka stages: a control-plane change is taken between batches, never within one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from confluent_kafka import Producer

from signal_factory.alerting.policy import AlertPolicy, load_alert_policy
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.model.evidence import decode_evidence, encode_evidence
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.signals.model import CONTRACT_BREACH, SLIDING_15MIN, TUMBLING_5MIN
from signal_factory.stores.sql.database import SqlStore, open_store
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import EnforcerStage
from signal_factory.transports.kafka.metrics import SignalsMetrics, StageMetrics
from signal_factory.transports.kafka.signals_stage import SignalsStage
from tests.controlplane.copies import NEW_TOPIC, add_topic, copy_example
from tests.signals.builders import MINUTE, ORDERS, evidence, ms
from tests.transports.conftest import GROUP_PROPS, drain, kafka_cluster

pytestmark = pytest.mark.slow
EVIDENCE = "sf.test.reload.evidence"
SIG_EVIDENCE, SIG_TALLIES = "sf.test.reload-sig.evidence", "sf.test.reload-sig.tallies"


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
    with kafka_cluster({NEW_TOPIC: 1, EVIDENCE: 1, SIG_EVIDENCE: 1, SIG_TALLIES: 1}) as servers:
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


def test_the_signals_stage_takes_a_new_window_kind_between_batches(bootstrap: str, tmp_path: Path) -> None:
    """Batch 1 fills a 5-minute window; orders:created is then switched to SLIDING_15MIN: that window still
    closes as TUMBLING_5MIN, batch 2's records land in sliding windows, all without a restart."""
    root = copy_example(tmp_path)
    metrics = SignalsMetrics()
    reloader: ConfigReloader[AlertPolicy] = ConfigReloader(root, load_alert_policy, on_result=metrics.config_reload)
    store = open_store(f"sqlite:///{tmp_path / 'sf.db'}")
    assert isinstance(store, SqlStore)
    cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id="sf-test-reload-sig", topics=(SIG_EVIDENCE, SIG_TALLIES),
                      evidence_topic=SIG_EVIDENCE, tally_topic=SIG_TALLIES, signals_topic=None,
                      properties=GROUP_PROPS)
    stage = SignalsStage(reloader.current.cp, store, cfg, reloader=reloader, flush_when_idle_s=3, metrics=metrics)
    t0 = ms("2024-01-15T10:00:00.000Z")
    producer = Producer({"bootstrap.servers": bootstrap})

    def send(first: int, minute: int) -> None:
        for i in range(first, first + 3):
            ev = evidence(i, t0 + minute * MINUTE)
            producer.produce(SIG_EVIDENCE, key=ORDERS.encode(), value=encode_evidence(ev))
        assert producer.flush(10) == 0

    stop = threading.Event()
    worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    try:
        send(1, 1)
        worker.start()
        wait_for(lambda: stage.report.batches >= 1, "batch 1")
        datasets = root / "datasets.yaml"
        line = "    contract: dc:orders.created:3\n"
        datasets.write_text(datasets.read_text().replace(line, line + "    window: SLIDING_15MIN\n"))
        assert reloader.reload("test") == "ok"
        send(10, 7)
        wait_for(lambda: stage.report.batches >= 2 and stage.report.flushes >= 1, "batch 2 and the idle flush")
    finally:
        stop.set()
        worker.join(30)
    try:
        found = store.signals.list(dataset_urn=ORDERS, signal_type=CONTRACT_BREACH, limit=100)
    finally:
        store.close()
    finals = sorted({(s.window.type, s.window.start[11:16]) for s in found if s.window is not None})
    assert finals == [(SLIDING_15MIN, "09:55"), (SLIDING_15MIN, "10:00"), (SLIDING_15MIN, "10:05"),
                      (TUMBLING_5MIN, "10:00")]
    assert metrics.registry.get_sample_value("signal_factory_config_reloads_total", {"result": "ok"}) == 1
