"""The enforcer as a Kafka consumer group: raw topics -> `Enforcer.process` -> evidence topic.

One loop, one thread: consume a batch, enforce it, produce evidence (keyed by dataset URN, so one
dataset's evidence stays in order on one partition), and only then move the group's offsets.

Delivery (`KafkaConfig.delivery`):
- `exactly-once`: consume-transform-produce in a Kafka transaction (`begin_transaction`, produce,
  `send_offsets_to_transaction`, `commit_transaction`; `abort_transaction` and rewind on error). Needs
  a broker that implements transactions fully (Apache Kafka, Redpanda, ...); librdkafka's mock cluster
  accepts the calls but does not store transactional offsets.
- `at-least-once` (default): idempotent producer, `flush()` until every evidence is acknowledged,
  then a synchronous offset commit. A crash between the two re-emits that batch; evidence ids are
  deterministic by (topic, partition, offset), so a reader drops the duplicates by `evidence_id`.

A record can never block its partition: the enforcer turns any bytes into evidence, and an
unexpected exception for a record becomes FAIL evidence (`INTERNAL_ERROR:enforcer`) through one
error boundary. Infrastructure failures (broker unreachable, fatal producer errors) raise
`KafkaTransportError`; the process exits and a restart resumes from the last committed offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.errors import SignalFactoryError
from signal_factory.model.evidence import encode_evidence
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.delivery import Deliveries
from signal_factory.transports.kafka.quality_tallies import KIND, KIND_HEADER, encode_quality_messages
from signal_factory.transports.kafka.records import origin_of, to_raw_record
from signal_factory.transports.kafka.tallies import encode_tally_messages

if TYPE_CHECKING:  # metrics are optional: prometheus_client is imported only by who builds them
    from signal_factory.transports.kafka.metrics import StageMetrics

log = logging.getLogger("signal_factory.transports.kafka.enforcer")
INTERNAL_ERROR = "INTERNAL_ERROR:enforcer"
_FLUSH_TIMEOUT_S = 30.0
_TXN_TIMEOUT_S = 30.0
_LOST_BY_REBALANCE = frozenset({KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                                KafkaError.UNKNOWN_MEMBER_ID, KafkaError._STATE})


class KafkaTransportError(SignalFactoryError):
    """The broker or client failed in a way the stage cannot recover from in-process."""


@dataclass
class StageReport:
    records: int = 0
    evidence: int = 0
    batches: int = 0
    internal_errors: int = 0
    aborted: int = 0
    seconds: float = 0.0
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


def guarded_process(enforcer: Enforcer, records: Sequence[RawRecord | MalformedInput]) -> tuple[EnforceBatch, int]:
    """`enforcer.process`, with an error boundary: a record whose gates raise becomes FAIL evidence.

    Returns the batch and how many records needed the boundary. The batch is tried whole first (the
    fast path); only when it raises is it retried one record at a time to isolate the culprit.
    """
    try:
        return enforcer.process(records), 0
    except Exception:  # the boundary exists to contain bugs in gates and user rules
        log.exception("enforcer raised on a batch of %d records; isolating the record(s)", len(records))
    out = EnforceBatch([], [])
    failures = 0
    for rec in records:
        try:
            one = enforcer.process([rec])
        except Exception as e:  # as above, per record
            failures += 1
            bad = MalformedInput(reason_code=INTERNAL_ERROR, message=f"{type(e).__name__}: {e}",
                                 origin=rec.origin or origin_of(rec.topic, rec.partition, rec.offset),
                                 topic=rec.topic, partition=rec.partition, offset=rec.offset,
                                 timestamp_ms=rec.timestamp_ms)
            one = enforcer.process([bad])
        out.evidence.extend(one.evidence)
        out.tallies.extend(one.tallies)
        out.quality.extend(one.quality)
    return out, failures


class EnforcerStage:
    """`run()` until `stop` is set (SIGTERM in the CLI): finish the batch, commit it, close the clients."""

    def __init__(self, control_plane: ControlPlane, kafka_config: KafkaConfig, *,
                 enforcer: Enforcer | None = None,
                 on_batch: Callable[[StageReport], None] | None = None,
                 metrics: StageMetrics | None = None,
                 reloader: ConfigReloader[Enforcer] | None = None) -> None:
        self.cfg = kafka_config
        self.metrics = metrics
        #: With a reloader, each batch runs on the enforcer current when it started (hot reload).
        self.reloader = reloader
        self._enforcer = enforcer or (reloader.current.value if reloader is not None else
                                      build_enforcer(control_plane))
        self.on_batch = on_batch
        self.report = StageReport()
        self._deliveries = Deliveries(on_error=None if metrics is None else lambda: metrics.error("delivery"))

    @property
    def enforcer(self) -> Enforcer:
        return self.reloader.current.value if self.reloader is not None else self._enforcer

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> StageReport:
        """Process until `stop` is set (or nothing arrived for `idle_exit_s`); returns what was done."""
        cfg = self.cfg
        started = time.perf_counter()
        log.info("enforcer stage starting", extra={"kafka": cfg.describe()})
        producer = Producer(cfg.producer_conf())
        consumer = Consumer(cfg.consumer_conf())
        transactional = cfg.delivery == "exactly-once"
        try:
            if transactional:
                producer.init_transactions(_TXN_TIMEOUT_S)
            consumer.subscribe(list(cfg.topics))
            idle_since = time.monotonic()
            while not stop.is_set():
                messages = consumer.consume(cfg.batch_size, cfg.poll_timeout_s)
                records = self._records(messages)
                if self.metrics is not None:  # metrics: lag, at most every lag_interval_s
                    self.metrics.maybe_sample_lag(consumer, self.report.committed)
                if not records:
                    if idle_exit_s is not None and not consumer.assignment():
                        idle_since = time.monotonic()  # idle counts from the first assignment (a group join
                        # can wait out a dead member's session timeout)
                    elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                        break
                    continue
                idle_since = time.monotonic()
                offsets = _next_offsets(records)
                t_batch = time.perf_counter()  # metrics
                batch, failures = guarded_process(self.enforcer, records)  # one config for the whole batch
                gate_s = time.perf_counter() - t_batch  # metrics
                if transactional:
                    if not self._commit_transaction(producer, consumer, batch, offsets, _first_offsets(records)):
                        continue
                else:
                    self._produce(producer, batch)
                    self._flush(producer)
                    if not self._commit(consumer, offsets, len(records)):
                        continue
                self._account(records, batch, failures, offsets)
                if self.metrics is not None:
                    self._observe(records, batch, failures, time.perf_counter() - t_batch, gate_s)
        finally:
            try:
                consumer.close()
            finally:
                producer.flush(_FLUSH_TIMEOUT_S)
            self.report.seconds = time.perf_counter() - started
            log.info("enforcer stage stopped", extra={"records": self.report.records,
                                                      "evidence": self.report.evidence})
        return self.report

    def _records(self, messages: list[Message]) -> list[RawRecord | MalformedInput]:
        records: list[RawRecord | MalformedInput] = []
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    if self.metrics is not None:
                        self.metrics.error("fatal")
                    raise KafkaTransportError(f"consumer failed: {err.str()} (check bootstrap servers, "
                                              "security settings and that the topics exist)")
                log.warning("consumer error (retried by the client): %s", err.str())
                if self.metrics is not None:
                    self.metrics.error("consumer")
                continue
            records.append(to_raw_record(msg))
        return records

    def _produce(self, producer: Producer, batch: EnforceBatch) -> None:
        topic = self.cfg.evidence_topic
        for ev in batch.evidence:
            self._send(producer, topic, ev.dataset_urn, encode_evidence(ev))
        # Sampled-out PASS records, counted: one message per (dataset, source partition), carrying the
        # counted offsets, so a consumer counts each once even when this batch is re-sent (tallies.py).
        for key, value in encode_tally_messages(batch.tallies):
            self._send(producer, self.cfg.tally_topic, key, value)
        # Aggregate-rule counts of every record (sampled out or not), the same way (quality_tallies.py).
        for key, value in encode_quality_messages(batch.quality):
            self._send(producer, self.cfg.tally_topic, key, value, [(KIND_HEADER, KIND)])

    def _send(self, producer: Producer, topic: str, key: str, value: bytes,
              headers: list[tuple[str, str | bytes | None]] | None = None) -> None:
        self._deliveries.send(producer, topic, key.encode(), value, headers)

    def _flush(self, producer: Producer) -> None:
        detail = self._deliveries.flush(producer, _FLUSH_TIMEOUT_S)
        if detail is not None:
            raise KafkaTransportError(f"evidence was not acknowledged by the broker ({detail}); offsets were not "
                                      "committed, so a restart re-processes this batch")

    def _commit(self, consumer: Consumer, offsets: list[TopicPartition], records: int) -> bool:
        """Synchronous commit after the flush. False when a rebalance took the partitions meanwhile: the
        evidence is already out, and the new owner re-emits it with the same ids (at-least-once)."""
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
            return True
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if isinstance(err, KafkaError) and err.code() in _LOST_BY_REBALANCE:
                log.warning("offset commit lost to a rebalance; the new owner re-processes the batch: %s", err.str(),
                            extra={"records": records})
                if self.metrics is not None:
                    self.metrics.error("commit_rebalance")
                return False
            raise KafkaTransportError(f"offset commit failed: {e}") from e

    def _commit_transaction(self, producer: Producer, consumer: Consumer, batch: EnforceBatch,
                            offsets: list[TopicPartition], first: list[TopicPartition]) -> bool:
        """Outputs and offsets in one transaction. False (batch rewound, to be re-consumed) on abort."""
        try:
            producer.begin_transaction()
            self._produce(producer, batch)
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), _TXN_TIMEOUT_S)
            producer.commit_transaction(_TXN_TIMEOUT_S)
            return True
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if isinstance(err, KafkaError) and err.txn_requires_abort():
                log.warning("transaction aborted, re-consuming the batch: %s", err.str())
                producer.abort_transaction(_TXN_TIMEOUT_S)
                self.report.aborted += 1
                if self.metrics is not None:
                    self.metrics.error("txn_abort")
                for tp in first:  # rewind to the batch's first records
                    consumer.seek(tp)
                return False
            raise KafkaTransportError(f"transaction failed and cannot be aborted: {e}") from e

    def _account(self, records: Sequence[RawRecord | MalformedInput], batch: EnforceBatch, failures: int,
                 offsets: list[TopicPartition]) -> None:
        rep = self.report
        rep.records += len(records)
        rep.evidence += len(batch.evidence)
        rep.internal_errors += failures
        rep.batches += 1
        for tp in offsets:
            rep.committed[(tp.topic, tp.partition)] = tp.offset
        log.info("batch committed", extra={"records": len(records), "evidence": len(batch.evidence),
                                           "total_records": rep.records})
        if self.on_batch is not None:
            self.on_batch(rep)

    def _observe(self, records: Sequence[RawRecord | MalformedInput], batch: EnforceBatch, failures: int,
                 batch_s: float, gate_s: float) -> None:
        """Metrics for a committed batch (only called when the stage was given `metrics`)."""
        assert self.metrics is not None
        tallied = sum(t.count for t in batch.tallies)
        tally_messages = {("pass", t.dataset_urn, t.topic, t.partition) for t in batch.tallies}
        tally_messages |= {("quality", t.dataset_urn, t.topic, t.partition) for t in batch.quality}
        self.metrics.observe_batch(records, (ev.validation.result for ev in batch.evidence), tallied,
                                   produced={self.cfg.evidence_topic: len(batch.evidence),
                                             self.cfg.tally_topic: len(tally_messages)},
                                   batch_seconds=batch_s, gate_seconds=gate_s)
        if failures:
            self.metrics.error("enforcer_internal", failures)

def _next_offsets(records: Sequence[RawRecord | MalformedInput]) -> list[TopicPartition]:
    """Per partition, the offset after the batch's last record (what a commit stores)."""
    last: dict[tuple[str, int], int] = {}
    for rec in records:
        if rec.topic is None or rec.partition is None or rec.offset is None:
            continue
        key = (rec.topic, rec.partition)
        if rec.offset >= last.get(key, -1):
            last[key] = rec.offset
    return [TopicPartition(t, p, o + 1) for (t, p), o in sorted(last.items())]


def _first_offsets(records: Sequence[RawRecord | MalformedInput]) -> list[TopicPartition]:
    """Per partition, the batch's first offset (where an aborted transaction rewinds to)."""
    first: dict[tuple[str, int], int] = {}
    for rec in records:
        if rec.topic is None or rec.partition is None or rec.offset is None:
            continue
        key = (rec.topic, rec.partition)
        first[key] = min(first.get(key, rec.offset), rec.offset)
    return [TopicPartition(t, p, o) for (t, p), o in sorted(first.items())]
