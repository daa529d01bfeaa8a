"""Signals + alerting + graph as one Kafka consumer-group stage on the evidence topic.

    evidence topic (keyed by dataset URN) + tally topic -> ReplayService.ingest_evidence -> store

The store, not Kafka, is the source of truth for positions. Each consumed batch goes through the
same path as an embedded replay in ONE store transaction: evidence insert (idempotent by id), signal
engines, signals and their state, alerting incidents and outbox rows, graph, the engines' snapshot
and, with them, the next offset of every partition in the batch (checkpoint `kafka:<topic>/<partition>`).
On partition assignment the consumer seeks to those checkpoints (falling back to the group's committed
offset, else the earliest); messages below a checkpoint are skipped, so PASS tallies (which carry no
id) are never added twice either. The group's Kafka offsets are committed after the database commit,
for lag monitoring only. Result: exactly-once effects on the store across kill -9 and restarts.

Ownership: the engines' snapshot is one blob per store (`ENGINE_STATE`), so ONE instance per store
processes. Before it joins the consumer group an instance takes the store's owner lock (a PostgreSQL
session advisory lock keyed by the store's schema; an exclusive file lock next to a SQLite file);
any other instance waits for it as a hot standby and takes over when the owner dies (its database
session ends, releasing the lock). Scaling out by partitioning datasets across stores is future work.

Windows close as event time advances (each dataset's watermark). `flush_when_idle_s` additionally
closes every open window once the stage has caught up and nothing arrived for that long (finite
inputs, tests, demos); evidence arriving later for a flushed window counts as late.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import msgspec
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from sqlalchemy import Connection, text

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer, PassTally
from signal_factory.model.evidence import Evidence, decode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql.database import SqlStore
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import KafkaTransportError

log = logging.getLogger("signal_factory.transports.kafka.signals")
LOCK_NAME = "signal-factory:signals"
_LOCK_CHECK_S = 1.0
_tally_decoder = msgspec.json.Decoder(PassTally)


def checkpoint_key(topic: str, partition: int) -> str:
    return f"kafka:{topic}/{partition}"


class OwnerLockLostError(KafkaTransportError):
    """The store's owner lock is gone (its database session died): stop before touching state."""


class OwnerLock(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PgAdvisoryLock:
    """A session-level `pg_advisory_lock` on a dedicated connection, keyed by the store's schema."""

    def __init__(self, store: SqlStore) -> None:
        self._engine = store.engine
        self._conn: Connection | None = None
        self._key: int | None = None

    def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._key = int(self._conn.execute(text("SELECT hashtextextended(:n || ':' || current_schema(), 0)"),
                                               {"n": LOCK_NAME}).scalar_one())
        return bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar_one())

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            return bool(self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
            )).scalar_one())
        except Exception:  # the session is gone, and the lock with it
            log.exception("owner lock check failed")
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class FileLock:
    """An exclusive `flock` on `<sqlite file>.signals.lock` (released by the OS when the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        fh = self.path.open("ab")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class NoLock:
    """In-memory SQLite: nobody else can see the store."""

    def try_acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def owner_lock_for(store: SqlStore) -> OwnerLock:
    url = store.engine.url
    if url.get_backend_name() in ("postgresql", "postgres"):
        return PgAdvisoryLock(store)
    if url.database in (None, "", ":memory:"):
        return NoLock()
    return FileLock(Path(f"{url.database}.signals.lock"))


@dataclass
class SignalsReport:
    messages: int = 0
    evidence: int = 0
    new_evidence: int = 0
    tallies: int = 0
    skipped: int = 0  # below the store's checkpoint: already applied
    poison: int = 0  # undecodable messages, logged and stepped over
    signals: int = 0
    incident_changes: int = 0
    batches: int = 0
    flushes: int = 0
    seconds: float = 0.0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


class SignalsStage:
    """`run()` until `stop` is set: wait for the owner lock, then consume, ingest, checkpoint, repeat."""

    def __init__(self, control_plane: ControlPlane, store: SqlStore, kafka_config: KafkaConfig, *,
                 lock: OwnerLock | None = None, flush_when_idle_s: float | None = None) -> None:
        self.cp = control_plane
        self.store = store
        self.cfg = kafka_config
        self.lock = lock or owner_lock_for(store)
        self.flush_when_idle_s = flush_when_idle_s
        self.report = SignalsReport()
        self._positions: dict[tuple[str, int], int] = {}  # next offset per assigned partition, from the store
        self._service: ReplayService | None = None

    @property
    def topics(self) -> list[str]:
        return [self.cfg.evidence_topic, self.cfg.tally_topic]

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> SignalsReport:
        started = time.perf_counter()
        log.info("signals stage starting", extra={"kafka": self.cfg.describe(), "store": self.store.url})
        if not self._acquire(stop):
            return self.report
        try:
            return self._run_owned(stop, idle_exit_s)
        finally:
            self.lock.release()
            self.report.seconds = time.perf_counter() - started
            log.info("signals stage stopped", extra={"evidence": self.report.evidence,
                                                     "new_evidence": self.report.new_evidence})

    def _acquire(self, stop: threading.Event) -> bool:
        waiting = False
        while not stop.is_set():
            if self.lock.try_acquire():
                log.info("owner lock acquired", extra={"pid": os.getpid()})
                return True
            if not waiting:
                log.info("waiting for the owner lock (another instance owns this store; hot standby)")
                waiting = True
            stop.wait(0.5)
        return False

    def _run_owned(self, stop: threading.Event, idle_exit_s: float | None) -> SignalsReport:
        # Built only now: the engines resume from the snapshot the previous owner committed last.
        service = ReplayService(self.cp, self.store, Enforcer(self.cp))
        self._service = service
        with self.store.transaction():
            service.graph.write_control_plane()
        consumer = Consumer(self.cfg.consumer_conf())
        try:
            consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
            idle_since = time.monotonic()
            flushed = True  # nothing to flush before the first message
            lock_checked = time.monotonic()
            while not stop.is_set():
                messages = consumer.consume(self.cfg.batch_size, self.cfg.poll_timeout_s)
                if time.monotonic() - lock_checked >= _LOCK_CHECK_S or messages:
                    if not self.lock.held():
                        raise OwnerLockLostError("lost the store's owner lock; exiting so the standby takes over")
                    lock_checked = time.monotonic()
                if self._process(consumer, service, messages):
                    idle_since = time.monotonic()
                    flushed = False
                    continue
                idle = time.monotonic() - idle_since
                if not flushed and self.flush_when_idle_s is not None and idle >= self.flush_when_idle_s:
                    rep = service.flush_windows()
                    flushed = True
                    self.report.flushes += 1
                    self.report.signals += len(rep.signals)
                    log.info("windows flushed", extra={"signals": len(rep.signals),
                                                       "total_evidence": self.report.evidence})
                if idle_exit_s is not None and idle >= idle_exit_s:
                    break
        finally:
            with contextlib.suppress(KafkaException):
                if self._positions:
                    consumer.commit(offsets=self._offsets(), asynchronous=False)
            consumer.close()
        return self.report

    # -- rebalance callbacks (run inside consume(), between batches) -----------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            stored = self.store.checkpoints.get(checkpoint_key(tp.topic, tp.partition))
            if stored is not None:
                tp.offset = stored
                self._positions[(tp.topic, tp.partition)] = stored
        consumer.assign(partitions)
        log.info("partitions assigned", extra={"partitions": [f"{tp.topic}/{tp.partition}@{tp.offset}"
                                                              for tp in partitions]})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._positions.pop((tp.topic, tp.partition), None)
        log.info("partitions revoked", extra={"partitions": [f"{tp.topic}/{tp.partition}" for tp in partitions]})

    # -- one batch ------------------------------------------------------------------------------------

    def _process(self, consumer: Consumer, service: ReplayService, messages: list[Message]) -> bool:
        evidence: list[Evidence] = []
        tallies: list[PassTally] = []
        nexts: dict[tuple[str, int], int] = {}
        rep = self.report
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise KafkaTransportError(f"consumer failed: {err.str()}")
                log.warning("consumer error (retried by the client): %s", err.str())
                continue
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if topic is None or partition is None or offset is None:
                continue
            key = (topic, partition)
            position = self._positions.get(key)
            if position is not None and offset < position:
                rep.skipped += 1  # already in the store (a re-delivery after a rewind or rebalance)
                continue
            nexts[key] = max(nexts.get(key, 0), offset + 1)
            try:
                if topic == self.cfg.tally_topic:
                    tallies.append(_tally_decoder.decode(msg.value() or b""))
                else:
                    evidence.append(decode_evidence(msg.value() or b""))
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                rep.poison += 1  # never blocks the partition: its offset still moves on
                log.warning("undecodable message skipped", extra={"topic": topic, "partition": partition,
                                                                  "offset": offset, "error": str(e)})
        if not nexts:
            return False
        checkpoints = {checkpoint_key(t, p): o for (t, p), o in nexts.items()}
        result = service.ingest_evidence(evidence, tallies=tallies, checkpoints=checkpoints)
        self._positions.update(nexts)  # only after the database commit
        rep.messages += sum(1 for m in messages if m.error() is None)
        rep.evidence += len(evidence)
        rep.new_evidence += result.new_evidence
        rep.tallies += len(tallies)
        rep.signals += len(result.signals)
        rep.incident_changes += len(result.changes)
        rep.batches += 1
        rep.positions = dict(self._positions)
        with contextlib.suppress(KafkaException):  # lag monitoring only: the store holds the truth
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in nexts.items()], asynchronous=True)
        log.info("batch committed", extra={"evidence": len(evidence), "new_evidence": result.new_evidence,
                                           "tallies": len(tallies), "signals": len(result.signals),
                                           "total_evidence": rep.evidence})
        return True

    def _offsets(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in sorted(self._positions.items())]


def stage_config(flags: dict[str, Any]) -> KafkaConfig:
    """`KafkaConfig` for this stage: the topics it consumes are the evidence and tally topics."""
    base = KafkaConfig.from_sources({**flags, "topics": "-"})  # validated below with the real topics
    return KafkaConfig(bootstrap_servers=base.bootstrap_servers, group_id=base.group_id,
                       topics=(base.evidence_topic, base.tally_topic), evidence_topic=base.evidence_topic,
                       tally_topic=base.tally_topic, batch_size=base.batch_size, poll_timeout_s=base.poll_timeout_s,
                       properties=base.properties)
