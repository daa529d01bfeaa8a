"""Prometheus metrics of the Kafka enforcer stage: unit tests of the updates, then a scrape over real HTTP."""

from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import EnforcerStage
from signal_factory.transports.kafka.metrics import StageMetrics, start_metrics_server
from tests.transports.conftest import GROUP_PROPS, RAW

SCENARIO1_RECORDS = 1247


@dataclass
class _Rec:
    topic: str | None


@dataclass
class _TP:
    topic: str
    partition: int
    offset: int = -1001


class _FakeConsumer:
    def __init__(self, high: dict[tuple[str, int], int], position: dict[tuple[str, int], int]) -> None:
        self.high = high
        self.pos = position

    def assignment(self) -> list[Any]:
        return [_TP(t, p) for t, p in self.high]

    def position(self, partitions: list[Any]) -> list[Any]:
        return [_TP(tp.topic, tp.partition, self.pos.get((tp.topic, tp.partition), -1001)) for tp in partitions]

    def get_watermark_offsets(self, partition: Any, timeout: float = 1.0, cached: bool = False) -> Any:
        assert cached, "lag sampling must not cost a broker round trip"
        return 0, self.high[(partition.topic, partition.partition)]


def _value(m: StageMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_observe_batch_counts_records_verdicts_and_latency() -> None:
    m = StageMetrics()
    m.observe_batch([_Rec("a"), _Rec("a"), _Rec("b")], ["PASS", "FAIL", "FAIL"], 5,
                    produced={"ev": 3, "tally": 1, "unused": 0}, batch_seconds=0.03, gate_seconds=0.003)
    assert _value(m, "signal_factory_records_consumed_total", topic="a") == 2
    assert _value(m, "signal_factory_records_consumed_total", topic="b") == 1
    assert _value(m, "signal_factory_evidence_total", result="FAIL") == 2
    assert _value(m, "signal_factory_evidence_total", result="PASS") == 1
    assert _value(m, "signal_factory_evidence_total", result="WARN") == 0  # pre-created series
    assert _value(m, "signal_factory_pass_tallied_total") == 5
    assert _value(m, "signal_factory_records_produced_total", topic="ev") == 3
    assert _value(m, "signal_factory_records_produced_total", topic="tally") == 1
    assert _value(m, "signal_factory_records_produced_total", topic="unused") is None
    assert _value(m, "signal_factory_batch_duration_seconds_count") == 1
    assert _value(m, "signal_factory_batch_duration_seconds_sum") == pytest.approx(0.03)
    assert _value(m, "signal_factory_gate_latency_seconds_sum") == pytest.approx(0.001)  # per record
    m.error("delivery")
    m.error("enforcer_internal", 3)
    assert _value(m, "signal_factory_errors_total", kind="delivery") == 1
    assert _value(m, "signal_factory_errors_total", kind="enforcer_internal") == 3


def test_registries_are_per_instance() -> None:
    a, b = StageMetrics(), StageMetrics(CollectorRegistry())
    a.error("consumer")
    assert _value(a, "signal_factory_errors_total", kind="consumer") == 1
    assert _value(b, "signal_factory_errors_total", kind="consumer") == 0  # present at 0, not a's count


def test_lag_prefers_committed_offsets_and_is_rate_limited() -> None:
    now = [100.0]
    m = StageMetrics(lag_interval_s=5.0, clock=lambda: now[0])
    consumer = _FakeConsumer({("t", 0): 100, ("t", 1): 50, ("t", 2): 10}, {("t", 0): 90, ("t", 1): 20})
    assert m.maybe_sample_lag(consumer, {("t", 0): 60})
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="0") == 40  # committed, not position
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="1") == 30  # position before a commit
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="2") is None  # nothing fetched yet

    consumer.high[("t", 0)] = 60
    now[0] += 1.0
    assert not m.maybe_sample_lag(consumer, {("t", 0): 60})  # within the interval: no work at all
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="0") == 40
    now[0] += 5.0
    del consumer.high[("t", 1)]  # revoked by a rebalance
    assert m.maybe_sample_lag(consumer, {("t", 0): 60})
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="0") == 0
    assert _value(m, "signal_factory_consumer_lag", topic="t", partition="1") is None


def test_server_disabled_by_port_zero_and_serves_the_registry() -> None:
    m = StageMetrics()
    assert start_metrics_server(0, m.registry) is None
    with pytest.raises(ValueError, match="1-65535"):
        start_metrics_server(70000, m.registry)
    m.error("fatal")
    server = _start_on_free_port(m)
    try:
        assert server.addr == "127.0.0.1"
        assert _scrape(server.url)[("signal_factory_errors_total", (("kind", "fatal"),))] == 1
    finally:
        server.close()


def _start_on_free_port(m: StageMetrics) -> Any:
    import socket

    for _ in range(5):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            server = start_metrics_server(port, m.registry)
        except OSError:  # taken between the probe and the bind
            continue
        assert server is not None
        return server
    raise RuntimeError("no free port for the metrics endpoint")


@pytest.mark.slow
def test_enforcer_stage_metrics_scraped_over_http(kafka_bootstrap: str, scenario1_raw: int,
                                                  control_plane: ControlPlane) -> None:
    """Scenario 1 through the stage with metrics on: the endpoint shows 1,247 consumed, 1,120 FAIL, lag 0."""
    cfg = KafkaConfig(bootstrap_servers=kafka_bootstrap, group_id="sf-test-metrics", topics=(RAW,),
                      evidence_topic="sf.test.evidence.metrics", properties=GROUP_PROPS)
    metrics = StageMetrics(lag_interval_s=0.2)
    server = _start_on_free_port(metrics)
    stage = EnforcerStage(control_plane, cfg, metrics=metrics)
    stop = threading.Event()
    worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        lag: dict[str, float] = {}
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        while time.monotonic() < deadline and worker.is_alive():
            samples = _scrape(server.url)
            lag = {dict(labels)["partition"]: v for (name, labels), v in samples.items()
                   if name == "signal_factory_consumer_lag"}
            consumed = samples.get(("signal_factory_records_consumed_total", (("topic", RAW),)), 0)
            if consumed >= scenario1_raw and len(lag) == 8 and not any(lag.values()):
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)
        server.close()
    assert not worker.is_alive()
    assert samples[("signal_factory_records_consumed_total", (("topic", RAW),))] == SCENARIO1_RECORDS
    assert samples[("signal_factory_evidence_total", (("result", "FAIL"),))] == 1120
    evidence = sum(v for (name, _), v in samples.items() if name == "signal_factory_evidence_total")
    tallied = samples[("signal_factory_pass_tallied_total", ())]
    assert evidence + tallied == SCENARIO1_RECORDS
    assert samples[("signal_factory_records_produced_total", (("topic", cfg.evidence_topic),))] == evidence
    assert samples[("signal_factory_batch_duration_seconds_count", ())] == stage.report.batches
    assert samples[("signal_factory_gate_latency_seconds_count", ())] == stage.report.batches
    assert len(lag) == 8, f"lag sampled for partitions {sorted(lag)} only"
    assert set(lag.values()) == {0}
    errors = [v for (name, _), v in samples.items() if name == "signal_factory_errors_total"]
    assert errors  # every kind is exported ...
    assert set(errors) == {0}  # ... and none happened


def test_every_stage_exports_process_build_info_and_zeroed_errors() -> None:
    """Each stage's registry has process_* and build_info, and every known error kind at 0 before any error."""
    from signal_factory.transports.kafka.metrics import AlertsMetrics, SignalsMetrics

    for metrics, component in ((StageMetrics(), "enforcer"), (SignalsMetrics(), "signals"),
                               (AlertsMetrics(), "alerts")):
        from prometheus_client import generate_latest

        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())
                   for s in f.samples}
        builds = [labels for name, labels in samples if name == "signal_factory_build_info"]
        assert builds
        assert ("component", component) in builds[0]
        assert any(name == "process_cpu_seconds_total" for name, _ in samples), component
        if component != "alerts":
            errors = {dict(labels)["kind"]: v for (name, labels), v in samples.items()
                      if name == "signal_factory_errors_total"}
            assert errors
            assert set(errors.values()) == {0.0}
            assert "fatal" in errors
            assert "consumer" in errors
