"""Prometheus metrics of the signals stage: the updates, then Scenario 1 through the stage, scraped over HTTP,
with the stage's signals topic checked against the store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client")

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.signals.model import decode_signal
from signal_factory.stores.sql import open_store
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.metrics import SignalsMetrics
from signal_factory.transports.kafka.signals_stage import SignalsStage
from tests.transports.conftest import GROUP_PROPS, drain
from tests.transports.test_kafka_metrics import _scrape, _start_on_free_port
from tests.transports.test_kafka_signals import TOTAL, Messages, _produce, scenario1

__all__ = ["scenario1"]
PREFIX = "sf.test.sig-metrics"


def test_observe_batch_counts_new_duplicates_signals_and_incidents() -> None:
    m = SignalsMetrics()
    m.observe_batch({"ev": 10, "ta": 2}, evidence=10, new_evidence=7, tallied=40, tally_duplicates=5, skipped=1,
                    signals=[("CONTRACT_BREACH", "CRITICAL"), ("CONTRACT_BREACH", "CRITICAL"), ("DRIFT", "WARNING")],
                    changes=[("created", "SEV-1")], batch_seconds=0.01)
    value = m.registry.get_sample_value
    assert value("signal_factory_records_consumed_total", {"topic": "ev"}) == 10
    assert value("signal_factory_evidence_stored_total") == 7
    assert value("signal_factory_duplicates_dropped_total", {"kind": "evidence"}) == 3
    assert value("signal_factory_duplicates_dropped_total", {"kind": "tally_records"}) == 5
    assert value("signal_factory_duplicates_dropped_total", {"kind": "below_checkpoint"}) == 1
    assert value("signal_factory_pass_tallied_total") == 40
    assert value("signal_factory_signals_total", {"signal_type": "CONTRACT_BREACH", "state": "CRITICAL"}) == 2
    assert value("signal_factory_incident_changes_total", {"kind": "created", "severity": "SEV-1"}) == 1
    assert value("signal_factory_batch_duration_seconds_count") == 1


@pytest.mark.slow
def test_signals_stage_metrics_scraped_over_http(kafka_bootstrap: str, scenario1: Messages, tmp_path: Path,
                                                 control_plane: ControlPlane) -> None:
    """Scenario 1's evidence, then all of it re-sent: 1,247 stored once, 1,247 dropped as duplicates, the
    CRITICAL breach and the incident counted, both partitions owned, lag 0."""
    _produce(kafka_bootstrap, PREFIX, scenario1)
    _produce(kafka_bootstrap, PREFIX, scenario1)  # an enforcer re-sending everything (same ids)
    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id=f"{PREFIX}.group",
                      topics=(f"{PREFIX}.evidence", f"{PREFIX}.tallies"), evidence_topic=f"{PREFIX}.evidence",
                      tally_topic=f"{PREFIX}.tallies", signals_topic=f"{PREFIX}.signals", properties=GROUP_PROPS)
    metrics = SignalsMetrics(lag_interval_s=0.2)
    server = _start_on_free_port(metrics)  # type: ignore[arg-type]
    store = open_store(f"sqlite:///{tmp_path / 'signals.db'}")
    stage = SignalsStage(control_plane, store, cfg, flush_when_idle_s=1.0, metrics=metrics)
    stop = threading.Event()
    worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    worker.start()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.is_alive():
            samples = _scrape(server.url)
            lag = [v for (name, _), v in samples.items() if name == "signal_factory_consumer_lag"]
            if stage.report.flushes and lag == [0]:  # one dataset: its one evidence partition has data
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)
        server.close()
    try:
        stored = {s.signal_id: s for s in store.signals.list(limit=10_000)}
    finally:
        store.close()
    assert not worker.is_alive()
    published = [decode_signal(m.value()) for m in drain(kafka_bootstrap, f"{PREFIX}.signals", expect=len(stored))]
    assert stored
    assert {s.signal_id for s in published} == set(stored)  # every committed signal, once (no crash here)
    assert len(published) == len(stored)
    assert all(s == stored[s.signal_id] for s in published)
    assert samples[("signal_factory_records_consumed_total", (("topic", cfg.evidence_topic),))] == 2 * TOTAL
    assert samples[("signal_factory_evidence_stored_total", ())] == TOTAL
    assert samples[("signal_factory_duplicates_dropped_total", (("kind", "evidence"),))] == TOTAL
    assert samples[("signal_factory_signals_total", (("signal_type", "CONTRACT_BREACH"), ("state", "CRITICAL")))] >= 1
    created = {dict(labels)["severity"]: v for (name, labels), v in samples.items()
               if name == "signal_factory_incident_changes_total" and dict(labels).get("kind") == "created"}
    assert created == {"SEV-1": 1}  # the contract breach pages once; the new signature is a notice, not a page
    assert samples[("signal_factory_owned_partitions", ())] == 2
    assert samples[("signal_factory_batch_duration_seconds_count", ())] == stage.report.batches
    errors = [v for (name, _), v in samples.items() if name == "signal_factory_errors_total"]
    assert errors  # every kind is exported ...
    assert set(errors) == {0}  # ... and none happened


@pytest.mark.slow
def test_poison_messages_never_block_a_partition(kafka_bootstrap: str, scenario1: Messages, tmp_path: Path,
                                                 control_plane: ControlPlane) -> None:
    """Garbage among Scenario 1's evidence and tallies (bad JSON, wrong shape, empty): each is counted as
    poison and stepped over; every valid evidence behind it is stored and the breach counted exactly."""
    prefix = "sf.test.sig-poison"
    urn = b"urn:dp:orders:created"
    garbage = [b"{not json", b'{"evidence_id": 7}', b"", b"\xff\xfe"]
    mixed: Messages = []
    for i, message in enumerate(scenario1):
        mixed.append(message)
        if i % 300 == 0:
            mixed.append(("evidence", urn, garbage[(i // 300) % len(garbage)]))
    mixed += [("tallies", urn, b'[{"dataset_urn": 1}]'), ("tallies", urn, b"nope")]
    poison = len(mixed) - len(scenario1)
    _produce(kafka_bootstrap, prefix, mixed)
    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id=f"{prefix}.group",
                      topics=(f"{prefix}.evidence", f"{prefix}.tallies"), evidence_topic=f"{prefix}.evidence",
                      tally_topic=f"{prefix}.tallies", signals_topic=None, batch_size=100, properties=GROUP_PROPS)
    metrics = SignalsMetrics()
    with open_store(f"sqlite:///{tmp_path / 'poison.db'}") as store:
        stage = SignalsStage(control_plane, store, cfg, flush_when_idle_s=1.0, metrics=metrics)
        report = stage.run(threading.Event(), idle_exit_s=3.0)
        finals = [s for s in store.signals.list(signal_type="CONTRACT_BREACH", limit=100) if not s.provisional]
        stored = len(store.evidence.by_dataset("urn:dp:orders:created", 0, 2**62, limit=10_000))
    assert report.poison == poison
    assert metrics.registry.get_sample_value("signal_factory_errors_total", {"kind": "poison"}) == poison
    assert stored == TOTAL
    assert [(s.metrics["evidence_count"], s.metrics["fail_count"]) for s in finals] == [(TOTAL, 1120)]
