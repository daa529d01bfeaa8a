"""Prometheus metrics for a Kafka stage: throughput, verdicts, errors, latency and consumer lag.

One `CollectorRegistry` per process (never prometheus_client's global one, so tests and embedding
processes stay isolated), served over HTTP by `start_metrics_server` (`run enforcer|signals --metrics-port`).

Names (all prefixed `signal_factory_`):

    records_consumed_total{topic}          raw records taken from Kafka and committed
    records_produced_total{topic}          evidence / tally messages acknowledged by the broker
    evidence_total{result}                 evidence produced, by verdict (PASS, WARN, FAIL)
    pass_tallied_total                     sampled-out PASS records, counted in tallies (no evidence)
    errors_total{kind}                     consumer, delivery, commit_rebalance, txn_abort,
                                           enforcer_internal, fatal
    batch_duration_seconds                 histogram: records in hand -> offsets committed, per batch
    gate_latency_seconds                   histogram: enforce time per record (a batch's enforce time /
                                           its records, observed once per batch: cheap at 100k rec/s)
    consumer_lag{topic,partition}          high watermark - committed offset, per assigned partition
    config_reloads_total{result}           control-plane reloads: ok, rejected (runtime/reload.py);
                                           every stage, `run alerts` included

The signals stage (`SignalsMetrics`) shares records_consumed, errors (consumer, poison, fatal,
lock_lost), batch_duration_seconds (one store transaction) and consumer_lag, and adds:

    evidence_stored_total                  evidence stored for the first time
    duplicates_dropped_total{kind}         evidence (by id), tally_records, below_checkpoint
    pass_tallied_total                     sampled-out PASS records counted from tallies
    signals_total{signal_type,state}       signals emitted
    incident_changes_total{kind,severity}  created, updated, auto_resolved
    owned_partitions                       evidence partitions whose engine state this process owns

Lag is sampled at most every `lag_interval_s` (default 5 s) from state the client already holds:
`get_watermark_offsets(cached=True)` (the high watermark from the last fetch response; no broker
round trip) against the offset this process last committed (or the fetch position before its first
commit). That is cheaper than librdkafka's `stats_cb`, which serialises and parses a JSON document
of every broker, topic and partition each `statistics.interval.ms`.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from signal_factory.runtime.procmetrics import add_process_metrics, reload_counter

PREFIX = "signal_factory_"
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GATE_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.1)
_OFFSET_INVALID = -1001


class LagSource(Protocol):
    """The part of `confluent_kafka.Consumer` lag sampling reads (a fake satisfies it in unit tests)."""

    def assignment(self) -> list[Any]: ...
    def position(self, partitions: list[Any]) -> list[Any]: ...
    def get_watermark_offsets(self, partition: Any, timeout: float = ..., cached: bool = ...) -> Any: ...


class _Record(Protocol):
    topic: str | None


class _ConsumerMetrics:
    """What every consuming stage exports: consumed, errors, batch latency, consumer lag, config reloads."""

    COMPONENT = "stage"
    ERROR_KINDS: tuple[str, ...] = ()

    def __init__(self, registry: CollectorRegistry | None = None, *, lag_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        add_process_metrics(self.registry, self.COMPONENT)
        self.lag_interval_s = lag_interval_s
        self._clock = clock
        self._last_lag_sample: float | None = None
        self._lag_labels: set[tuple[str, str]] = set()
        r = self.registry
        self.consumed = Counter(f"{PREFIX}records_consumed", "Messages consumed and committed.", ["topic"],
                                registry=r)
        self.errors = Counter(f"{PREFIX}errors", "Errors, by kind.", ["kind"], registry=r)
        self.batch_seconds = Histogram(f"{PREFIX}batch_duration_seconds",
                                       "Per batch: messages in hand -> outputs durable and offsets committed.",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.lag = Gauge(f"{PREFIX}consumer_lag", "High watermark minus committed offset.",
                         ["topic", "partition"], registry=r)
        for kind in self.ERROR_KINDS:  # every known kind present at 0 from the start, so rate() and alerts work
            self.errors.labels(kind=kind)
        self.config_reloads = reload_counter(r)

    def error(self, kind: str, count: int = 1) -> None:
        self.errors.labels(kind=kind).inc(count)

    def config_reload(self, result: str) -> None:
        """One control-plane reload attempt (`ok` or `rejected`): `ConfigReloader(on_result=...)`."""
        self.config_reloads.labels(result=result).inc()

    def maybe_sample_lag(self, consumer: LagSource, committed: Mapping[tuple[str, int], int]) -> bool:
        """`sample_lag` if `lag_interval_s` has passed since the last sample; True when it sampled."""
        now = self._clock()
        if self._last_lag_sample is not None and now - self._last_lag_sample < self.lag_interval_s:
            return False
        self._last_lag_sample = now
        self.sample_lag(consumer, committed)
        return True

    def sample_lag(self, consumer: LagSource, committed: Mapping[tuple[str, int], int]) -> None:
        """Per assigned partition: cached high watermark - (offset committed here, else fetch position)."""
        assigned = list(consumer.assignment())
        seen: set[tuple[str, str]] = set()
        positions = {(tp.topic, tp.partition): tp.offset for tp in consumer.position(assigned)} if assigned else {}
        for tp in assigned:
            key = (tp.topic, tp.partition)
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
            done = committed.get(key, positions.get(key, _OFFSET_INVALID))
            if high is None or high < 0 or done is None or done < 0:
                continue  # nothing fetched yet: no trustworthy figure
            labels = (tp.topic, str(tp.partition))
            self.lag.labels(*labels).set(max(0, high - done))
            seen.add(labels)
        for gone in self._lag_labels - seen:  # revoked partitions (a rebalance): drop their series
            self.lag.remove(*gone)
        self._lag_labels = seen


class StageMetrics(_ConsumerMetrics):
    """The metrics of one enforcer process, in their own registry."""

    COMPONENT = "enforcer"
    ERROR_KINDS = ("consumer", "delivery", "commit_rebalance", "txn_abort", "enforcer_internal", "fatal")

    def __init__(self, registry: CollectorRegistry | None = None, *, lag_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(registry, lag_interval_s=lag_interval_s, clock=clock)
        r = self.registry
        self.produced = Counter(f"{PREFIX}records_produced", "Messages produced and acknowledged.", ["topic"],
                                registry=r)
        self.evidence = Counter(f"{PREFIX}evidence", "Evidence produced, by verdict.", ["result"], registry=r)
        self.pass_tallied = Counter(f"{PREFIX}pass_tallied", "Sampled-out PASS records counted in tallies.",
                                    registry=r)
        self.gate_seconds = Histogram(f"{PREFIX}gate_latency_seconds",
                                      "Enforce (five gates) time per record; one observation per batch.",
                                      buckets=GATE_BUCKETS, registry=r)
        for result in ("PASS", "WARN", "FAIL"):  # present at 0 from the start, so rate() works
            self.evidence.labels(result=result)

    def observe_batch(self, records: Iterable[_Record], evidence_results: Iterable[str], tallied: int, *,
                      produced: Mapping[str, int], batch_seconds: float, gate_seconds: float) -> None:
        """One committed batch: what it consumed, what it produced, and how long it took."""
        n = 0
        for topic, count in Tally(rec.topic or "" for rec in records).items():
            self.consumed.labels(topic=topic).inc(count)
            n += count
        for result, count in Tally(evidence_results).items():
            self.evidence.labels(result=result).inc(count)
        if tallied:
            self.pass_tallied.inc(tallied)
        for topic, count in produced.items():
            if count:
                self.produced.labels(topic=topic).inc(count)
        self.batch_seconds.observe(batch_seconds)
        if n:
            self.gate_seconds.observe(gate_seconds / n)



class SignalsMetrics(_ConsumerMetrics):
    """The metrics of one signals-stage process (engines, alerting, graph writer), in their own registry."""

    COMPONENT = "signals"
    ERROR_KINDS = ("consumer", "poison", "fatal", "lock_lost", "fenced")

    def __init__(self, registry: CollectorRegistry | None = None, *, lag_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(registry, lag_interval_s=lag_interval_s, clock=clock)
        r = self.registry
        self.evidence_stored = Counter(f"{PREFIX}evidence_stored", "Evidence stored for the first time.",
                                       registry=r)
        self.duplicates = Counter(f"{PREFIX}duplicates_dropped",
                                  "Re-delivered input dropped as already applied, by kind (evidence: by id; "
                                  "tally_records: offsets already counted; below_checkpoint: messages).",
                                  ["kind"], registry=r)
        self.pass_tallied = Counter(f"{PREFIX}pass_tallied", "Sampled-out PASS records counted from tallies.",
                                    registry=r)
        self.signals = Counter(f"{PREFIX}signals", "Signals emitted, by type and state.",
                               ["signal_type", "state"], registry=r)
        self.incident_changes = Counter(f"{PREFIX}incident_changes", "Incident changes (created, updated, "
                                        "auto_resolved), by kind and severity.", ["kind", "severity"], registry=r)
        self.owned_partitions = Gauge(f"{PREFIX}owned_partitions",
                                      "Evidence partitions whose engine state this process owns.", registry=r)
        for kind in ("evidence", "tally_records", "below_checkpoint"):
            self.duplicates.labels(kind=kind)

    def observe_batch(self, consumed: Mapping[str, int], *, evidence: int, new_evidence: int, tallied: int,
                      tally_duplicates: int, skipped: int, signals: Iterable[tuple[str, str]],
                      changes: Iterable[tuple[str, str]], batch_seconds: float) -> None:
        """One committed store transaction: messages per topic, what was new, what it emitted."""
        for topic, count in consumed.items():
            if count:
                self.consumed.labels(topic=topic).inc(count)
        if new_evidence:
            self.evidence_stored.inc(new_evidence)
        if evidence > new_evidence:
            self.duplicates.labels(kind="evidence").inc(evidence - new_evidence)
        if tally_duplicates:
            self.duplicates.labels(kind="tally_records").inc(tally_duplicates)
        if skipped:
            self.duplicates.labels(kind="below_checkpoint").inc(skipped)
        if tallied:
            self.pass_tallied.inc(tallied)
        for (signal_type, state), count in Tally(signals).items():
            self.signals.labels(signal_type=signal_type, state=state).inc(count)
        for (kind, severity), count in Tally(changes).items():
            self.incident_changes.labels(kind=kind, severity=severity).inc(count)
        self.batch_seconds.observe(batch_seconds)


class AlertsMetrics:
    """The metrics of one `run alerts` process: notifications by outcome, and the outbox backlog."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        add_process_metrics(self.registry, "alerts")
        r = self.registry
        self.notifications = Counter(f"{PREFIX}notifications", "Outbox rows tried, by outcome (SENT, RETRY, "
                                     "DEAD, HELD).", ["outcome"], registry=r)
        self.pending = Gauge(f"{PREFIX}outbox_pending", "Notifications still PENDING after the last round.",
                             registry=r)
        for outcome in ("SENT", "RETRY", "DEAD", "HELD"):
            self.notifications.labels(outcome=outcome)
        self.config_reloads = reload_counter(r)

    def config_reload(self, result: str) -> None:
        """One control-plane reload attempt (`ok` or `rejected`)."""
        self.config_reloads.labels(result=result).inc()

    def observe_round(self, outcomes: Iterable[str], pending: int) -> None:
        for outcome, count in Tally(outcomes).items():
            self.notifications.labels(outcome=outcome).inc(count)
        self.pending.set(pending)


class MetricsServer:
    """The HTTP endpoint serving `/metrics` (any path, in fact) from one registry."""

    def __init__(self, port: int, registry: CollectorRegistry, addr: str = "127.0.0.1") -> None:
        self._httpd, self._thread = start_http_server(port, addr=addr, registry=registry)
        self.addr = addr
        self.port = int(self._httpd.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.addr}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def start_metrics_server(port: int, registry: CollectorRegistry, addr: str = "127.0.0.1") -> MetricsServer | None:
    """Serve `registry` on `addr:port` from a daemon thread; port 0 = disabled (returns None)."""
    if port == 0:
        return None
    if not 0 < port < 65536:
        raise ValueError(f"metrics port must be 1-65535 (0 disables the endpoint), got {port}")
    return MetricsServer(port, registry, addr)
