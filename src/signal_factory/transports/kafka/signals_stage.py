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

Ownership (scale-out): the evidence topic is keyed by dataset URN and the tally topic by the same key
with the same partition count (checked at start), so partition p of both topics holds everything of its
datasets. Every instance of the group is ACTIVE and keeps one engine host per assigned evidence partition,
with its own snapshot `signal-engines:<evidence topic>/<p>`. A partition is processed only under its
lock (a PostgreSQL session advisory lock keyed by schema + topic + partition; a `flock` per partition
next to a SQLite file), taken on assignment and released on revocation/close; while a previous owner
still holds it (e.g. a zombie whose session has not ended yet) the partition stays paused and the lock
is polled, then the consumer seeks to the store's checkpoints. Messages are routed to their partition's
host and each host's messages of a batch commit in their own store transaction.

If the partition counts differ the stage refuses to scale out (logged as an error) and falls back to
ONE owner per store: the store's owner lock, one host with the `signal-engines` snapshot, other
instances waiting as hot standbys. The two modes' snapshots are distinct; do not switch one store
between them while windows are open.

Every stored signal is also published to the signals topic (`signal_topic.py`; `signal_factory.signals`
by default), acknowledged before the store transaction commits.

Windows close as event time advances (each dataset's watermark). `flush_when_idle_s` additionally
closes every open window once the stage has caught up and nothing arrived for that long (finite
inputs, tests, demos); evidence arriving later for a flushed window counts as late.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter as TallyCounter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import msgspec
from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from signal_factory.alerting.policy import AlertPolicy
from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.eventtime import EventTimeGuard
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.inflows import foreign_evidence
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.writer import GraphWriter
from signal_factory.model.evidence import Evidence
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.runtime.replay import ENGINE_STATE, ReplayService
from signal_factory.stores.sql.checkpoints import SqlCheckpointRepo
from signal_factory.stores.sql.database import SqlStore
from signal_factory.stores.sql.locks import (
    OwnerLock,
    OwnerLockLostError,
    PartitionLocks,
    owner_lock_for,
    partition_locks_for,
)
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import KafkaTransportError
from signal_factory.transports.kafka.quality_tallies import decode_quality_message, fresh_quality, is_quality
from signal_factory.transports.kafka.signal_topic import SignalPublisher
from signal_factory.transports.kafka.tallies import TallyMarks, decode_tally_message

if TYPE_CHECKING:  # metrics are optional: prometheus_client is imported only by who builds them
    from signal_factory.transports.kafka.metrics import SignalsMetrics

log = logging.getLogger("signal_factory.transports.kafka.signals")
_LOCK_CHECK_S = 1.0


def checkpoint_key(topic: str, partition: int) -> str:
    return f"kafka:{topic}/{partition}"


def fence_key(topic: str | None, partition: int) -> str:
    """The fencing epoch of an evidence partition's owner (of the whole store in single-owner mode)."""
    return "fence:signals" if topic is None else f"fence:{topic}/{partition}"


def engine_state_name(topic: str, partition: int) -> str:
    """The snapshot of the engines owning evidence partition `partition` of `topic`."""
    return f"{ENGINE_STATE}:{topic}/{partition}"


@dataclass
class SignalsReport:
    messages: int = 0
    evidence: int = 0
    new_evidence: int = 0
    tallies: int = 0
    skipped: int = 0  # below the store's checkpoint: already applied
    tally_duplicates: int = 0  # PASS records in re-sent tallies, already counted (tallies.py)
    quality_rows: int = 0  # records counted for aggregate quality rules (quality_tallies.py)
    quality_duplicates: int = 0  # records in re-sent quality tallies, already counted
    poison: int = 0  # undecodable messages, logged and stepped over
    dropped: int = 0  # fetched for a partition this instance does not own (yet): re-read once it does
    signals: int = 0
    incident_changes: int = 0
    batches: int = 0
    flushes: int = 0
    seconds: float = 0.0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


_SINGLE = -1  # the one engine host of single-owner mode (all partitions)


class SignalsStage:
    """`run()` until `stop` is set: consume, ingest, checkpoint, repeat.

    Scale-out mode (evidence and tally topics have equal partition counts): every instance of the group
    is active; one engine host per assigned evidence partition, owned under that partition's lock.
    Otherwise single-owner mode: the store's owner lock, one host for everything, others hot standby."""

    def __init__(self, control_plane: ControlPlane, store: SqlStore, kafka_config: KafkaConfig, *,
                 lock: OwnerLock | None = None, partition_locks: PartitionLocks | None = None,
                 flush_when_idle_s: float | None = None, metrics: SignalsMetrics | None = None,
                 reloader: ConfigReloader[AlertPolicy] | None = None) -> None:
        self.cp = control_plane
        #: With a reloader, a new control plane (and alert policy) is taken between batches (`_take_reload`).
        self.reloader = reloader
        self._generation = reloader.current.generation if reloader is not None else 0
        self._policy = reloader.current.value if reloader is not None else None
        self._skew = EventTimeGuard(control_plane.settings.event_time)
        self.metrics = metrics
        self.store = store
        self.cfg = kafka_config
        self._lock = lock
        self.partition_locks = partition_locks or partition_locks_for(store)
        self.flush_when_idle_s = flush_when_idle_s
        self.report = SignalsReport()
        self.scaled = False
        self._positions: dict[tuple[str, int], int] = {}  # next offset per assigned partition, from the store
        self._services: dict[int, ReplayService] = {}  # evidence partition (or _SINGLE) -> its engines
        self._waiting: set[int] = set()  # assigned partitions whose lock another instance still holds
        self._reseek: set[int] = set()  # owned, paused: seek to the store's checkpoints, then resume
        self._enforcer: Enforcer | None = None
        self._marks = TallyMarks(self.store.checkpoints.get)  # per (dataset, source partition), see tallies.py
        self._epochs: dict[int, int] = {}  # owner -> fencing epoch claimed when it took ownership
        self._assigned: set[int] = set()  # evidence partitions assigned to this instance
        self.publisher: SignalPublisher | None = None  # the signals topic, when configured

    @property
    def lock(self) -> OwnerLock:
        if self._lock is None:
            self._lock = owner_lock_for(self.store)
        return self._lock

    @property
    def topics(self) -> list[str]:
        return [self.cfg.evidence_topic, self.cfg.tally_topic]

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> SignalsReport:
        started = time.perf_counter()
        log.info("signals stage starting", extra={"kafka": self.cfg.describe(), "store": self.store.url})
        self.scaled = self._partition_counts_match()
        if self.cfg.signals_topic:
            self.publisher = SignalPublisher(self.cfg, self.cfg.signals_topic)
        try:
            if self.scaled:
                return self._run_consumer(stop, idle_exit_s)
            if not self._acquire(stop):
                return self.report
            try:
                self._epochs[_SINGLE] = self._claim_epoch(_SINGLE)
                self._services[_SINGLE] = self._service(ENGINE_STATE)
                return self._run_consumer(stop, idle_exit_s)
            finally:
                self.lock.release()
        finally:
            self.partition_locks.close()
            if self.publisher is not None:
                self.publisher.close()
            self.report.seconds = time.perf_counter() - started
            log.info("signals stage stopped", extra={"evidence": self.report.evidence,
                                                     "new_evidence": self.report.new_evidence})

    def _partition_counts_match(self) -> bool:
        """Scale-out needs a dataset's evidence and tallies in the same partition number of both topics."""
        probe = Consumer({**self.cfg.consumer_conf(), "group.id": f"{self.cfg.group_id}.probe"})
        try:
            counts: dict[str, int] = {}
            for topic in self.topics:
                meta = probe.list_topics(topic, timeout=10).topics.get(topic)
                if meta is None or meta.error is not None or not meta.partitions:
                    raise KafkaTransportError(f"topic {topic!r} not found ({meta.error if meta else 'no metadata'})")
                counts[topic] = len(meta.partitions)
        finally:
            probe.close()
        ev, ta = counts[self.cfg.evidence_topic], counts[self.cfg.tally_topic]
        if ev == ta:
            log.info("scale-out mode: one engine host per evidence partition",
                     extra={"partitions": ev, "pid": os.getpid()})
            return True
        log.error(f"refusing to scale out: evidence topic {self.cfg.evidence_topic!r} has {ev} partitions but "
                  f"tally topic {self.cfg.tally_topic!r} has {ta}; a dataset's tallies must share its evidence "
                  f"partition number. Running ONE owner per store (others wait as hot standbys); re-create the "
                  f"tally topic with {ev} partitions to run every instance active",
                  extra={"evidence_partitions": ev, "tally_partitions": ta})
        return False

    def _service(self, engine_state: str) -> ReplayService:
        # Built only when owned: the engines resume from the snapshot the previous owner committed last.
        if self._enforcer is None:
            self._enforcer = build_enforcer(self.cp)
        return ReplayService(self.cp, self.store, self._enforcer, engine_state=engine_state, publish=self.publisher,
                             policy=self._policy)

    def _take_reload(self) -> None:
        """Between batches: if the control plane was reloaded, rebuild every owned host's service on it. Each
        resumes from its committed snapshot (= its memory after the last commit), so no window is lost; the
        lineage is rewritten into the graph (datasets and FEEDS edges may have changed)."""
        if self.reloader is None:
            return
        live = self.reloader.current
        if live.generation == self._generation:
            return
        self.cp, self._policy, self._generation = live.cp, live.value, live.generation
        self._skew = EventTimeGuard(live.cp.settings.event_time)
        self._enforcer = None
        with self.store.transaction():
            GraphWriter(self.store.graph, self.cp).write_control_plane()
        for owner in list(self._services):
            name = ENGINE_STATE if owner == _SINGLE else engine_state_name(self.cfg.evidence_topic, owner)
            self._services[owner] = self._service(name)
        log.info("control plane generation taken", extra={"generation": live.generation,
                                                          "hosts": len(self._services)})

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

    def _claim_epoch(self, owner: int) -> int:
        """A new fencing epoch for `owner`: from now on a zombie previous owner's transactions fail."""
        with self.store.transaction():
            return self._fences.claim(fence_key(self._fence_topic, owner))

    @property
    def _fences(self) -> SqlCheckpointRepo:
        return cast(SqlCheckpointRepo, self.store.checkpoints)

    @property
    def _fence_topic(self) -> str | None:
        return self.cfg.evidence_topic if self.scaled else None

    def _guard(self, owner: int) -> Callable[[], None]:
        """Run first in each store transaction of `owner`: the advisory lock says who should write, the
        epoch makes sure nobody else does (a process whose database session, and lock, died while it
        was still running would otherwise commit one stale batch)."""
        key, epoch = fence_key(self._fence_topic, owner), self._epochs[owner]

        def check() -> None:
            if not self._fences.holds(key, epoch):
                if self.metrics is not None:
                    self.metrics.error("fenced")
                raise OwnerLockLostError(f"fenced: another instance claimed {key} after epoch {epoch}; "
                                         "exiting without writing")
        return check

    def _set_owned(self) -> None:
        """Evidence partitions whose windows this process owns: its hosts when scaled out, else (one host
        for everything) the evidence partitions assigned to it."""
        if self.metrics is not None:
            self.metrics.owned_partitions.set(len(self._services) if self.scaled else len(self._assigned))

    def _locks_held(self) -> bool:
        return self.partition_locks.held() if self.scaled else self.lock.held()

    def _run_consumer(self, stop: threading.Event, idle_exit_s: float | None) -> SignalsReport:
        with self.store.transaction():
            GraphWriter(self.store.graph, self.cp).write_control_plane()
        conf = self.cfg.consumer_conf()
        if self.scaled:  # range assigns partition p of both topics to the same member
            strategy = conf.setdefault("partition.assignment.strategy", "range")
            if strategy != "range":
                log.warning("partition.assignment.strategy %r may split a partition's evidence and tallies "
                            "across instances (the later one then waits for the partition lock)", strategy)
        consumer = Consumer(conf)
        try:
            consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
            idle_since = time.monotonic()
            flushed = True  # nothing to flush before the first message
            lock_checked = time.monotonic()
            while not stop.is_set():
                messages = consumer.consume(self.cfg.batch_size, self.cfg.poll_timeout_s)
                self._take_reload()  # after the wait, before the batch: it runs on the config current now
                if self.metrics is not None:
                    self.metrics.maybe_sample_lag(consumer, self._positions)
                if time.monotonic() - lock_checked >= _LOCK_CHECK_S or messages:
                    if not self._locks_held():
                        if self.metrics is not None:
                            self.metrics.error("lock_lost")
                        raise OwnerLockLostError("lost an owner lock; exiting so another instance takes over")
                    if self._waiting or self._reseek:
                        self._claim_waiting(consumer)
                    lock_checked = time.monotonic()
                if self._process(consumer, messages):
                    idle_since = time.monotonic()
                    flushed = False
                    continue
                if self._waiting or self._reseek or (idle_exit_s is not None and not consumer.assignment()):
                    idle_since = time.monotonic()  # idle counts once partitions are assigned and owned (a
                    # group join can wait out a dead member's session timeout)
                idle = time.monotonic() - idle_since
                if not flushed and self.flush_when_idle_s is not None and idle >= self.flush_when_idle_s:
                    signals = 0
                    for owner, service in list(self._services.items()):
                        signals += len(service.flush_windows(guard=self._guard(owner)).signals)
                    flushed = True
                    self.report.flushes += 1
                    self.report.signals += signals
                    log.info("windows flushed", extra={"signals": signals, "total_evidence": self.report.evidence,
                                                       "hosts": len(self._services)})
                if idle_exit_s is not None and idle >= idle_exit_s:
                    break
        finally:
            with contextlib.suppress(KafkaException):
                if self._positions:
                    consumer.commit(offsets=self._offsets(), asynchronous=False)
            consumer.close()
        return self.report

    # -- rebalance callbacks (run inside consume(), between batches) -----------------------------------

    def _stored(self, topic: str, partition: int) -> int | None:
        stored = self.store.checkpoints.get(checkpoint_key(topic, partition))
        if stored is not None:
            self._positions[(topic, partition)] = stored
        return stored

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._marks.forget()  # another instance may have counted tallies meanwhile: re-read from the store
        for tp in partitions:
            stored = self._stored(tp.topic, tp.partition)
            if stored is not None:
                tp.offset = stored
        consumer.assign(partitions)
        self._assigned |= {tp.partition for tp in partitions if tp.topic == self.cfg.evidence_topic}
        self._set_owned()
        log.info("partitions assigned", extra={"partitions": [f"{tp.topic}/{tp.partition}@{tp.offset}"
                                                              for tp in partitions]})
        if not self.scaled:
            return
        waiting = []
        for p in sorted({tp.partition for tp in partitions}):
            if p not in self._services and not self._claim(p):
                self._waiting.add(p)
                waiting.append(p)
        if waiting:
            consumer.pause([TopicPartition(t, p) for p in waiting for t in self.topics])
            log.info("waiting for partition locks (their previous owner still holds them)",
                     extra={"partitions": waiting})

    def _claim(self, partition: int) -> bool:
        if not self.partition_locks.try_acquire(self.cfg.evidence_topic, partition):
            return False
        self._epochs[partition] = self._claim_epoch(partition)  # waits for a zombie's open transaction
        for topic in self.topics:  # the previous owner may have moved on since the assignment
            self._stored(topic, partition)
        self._marks.forget()
        self._services[partition] = self._service(engine_state_name(self.cfg.evidence_topic, partition))
        self._set_owned()
        log.info("partition owned", extra={"partition": partition, "pid": os.getpid(),
                                           "epoch": self._epochs[partition]})
        return True

    def _claim_waiting(self, consumer: Consumer) -> None:
        for p in sorted(self._waiting):
            if self._claim(p):
                self._waiting.discard(p)
                self._reseek.add(p)
        for p in sorted(self._reseek):
            tps = []
            for topic in self.topics:
                stored = self._positions.get((topic, p))
                tps.append(TopicPartition(topic, p, stored if stored is not None else OFFSET_BEGINNING))
            try:
                consumer.resume(tps)
                for tp in tps:
                    consumer.seek(tp)
            except KafkaException as e:  # not fetchable yet: retried at the next check
                log.info("seek after taking a partition over failed; retrying", extra={"partition": p,
                                                                                      "error": str(e)})
                continue
            self._reseek.discard(p)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._marks.forget()
        # The batch in hand is already committed (callbacks run inside consume()); record the positions.
        done = [TopicPartition(tp.topic, tp.partition, self._positions[(tp.topic, tp.partition)])
                for tp in partitions if (tp.topic, tp.partition) in self._positions]
        if done:
            with contextlib.suppress(KafkaException):
                consumer.commit(offsets=done, asynchronous=False)
        for tp in partitions:
            self._positions.pop((tp.topic, tp.partition), None)
            if tp.topic == self.cfg.evidence_topic:
                self._assigned.discard(tp.partition)
        if self.scaled:
            for p in sorted({tp.partition for tp in partitions}):
                self._waiting.discard(p)
                self._reseek.discard(p)
                if self._services.pop(p, None) is not None:
                    self._epochs.pop(p, None)
                    self.partition_locks.release(self.cfg.evidence_topic, p)
        self._set_owned()
        log.info("partitions revoked", extra={"partitions": [f"{tp.topic}/{tp.partition}" for tp in partitions]})

    # -- one batch ------------------------------------------------------------------------------------

    def _process(self, consumer: Consumer, messages: list[Message]) -> bool:
        """Split `messages` by owning host; one store transaction per host (its partitions only)."""
        groups: dict[int, list[Message]] = {}
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if self.metrics is not None:
                    self.metrics.error("fatal" if err.fatal() else "consumer")
                if err.fatal():
                    raise KafkaTransportError(f"consumer failed: {err.str()}")
                log.warning("consumer error (retried by the client): %s", err.str())
                continue
            partition = msg.partition()
            if partition is None:
                continue
            owner = partition if self.scaled else _SINGLE
            if owner not in self._services or owner in self._reseek:
                self.report.dropped += 1  # re-read from the store's checkpoint once this instance owns it
                continue
            groups.setdefault(owner, []).append(msg)
        processed = False
        for owner, group in sorted(groups.items()):
            processed = self._process_one(consumer, owner, group) or processed
        return processed

    def _process_one(self, consumer: Consumer, owner: int, messages: list[Message]) -> bool:
        started = time.perf_counter()
        rep = self.report
        skipped_before, tally_dups_before = rep.skipped, rep.tally_duplicates
        evidence, tallies, quality, nexts = self._decode(messages)
        if not nexts:
            return False
        checkpoints = {checkpoint_key(t, p): o for (t, p), o in nexts.items()}
        checkpoints.update(self._marks.checkpoints())
        try:
            result = self._services[owner].ingest_evidence(evidence, tallies=tallies, quality=quality,
                                                           quality_once=True, checkpoints=checkpoints,
                                                           guard=self._guard(owner))
        except BaseException:
            self._marks.rolled_back()
            raise
        self._positions.update(nexts)  # only after the database commit
        self._marks.committed()
        rep.messages += len(messages)
        rep.evidence += len(evidence)
        rep.new_evidence += result.new_evidence
        rep.tallies += len(tallies)
        rep.signals += len(result.signals)
        rep.incident_changes += len(result.changes)
        rep.batches += 1
        rep.positions = dict(self._positions)
        with contextlib.suppress(KafkaException):  # lag monitoring only: the store holds the truth
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in nexts.items()], asynchronous=True)
        if self.metrics is not None:
            self.metrics.observe_batch(
                TallyCounter(msg.topic() or "" for msg in messages), evidence=len(evidence),
                new_evidence=result.new_evidence, tallied=sum(t.count for t in tallies),
                tally_duplicates=rep.tally_duplicates - tally_dups_before, skipped=rep.skipped - skipped_before,
                signals=[(x.signal_type, x.state) for x in result.signals],
                changes=[(c.kind, c.incident.severity) for c in result.changes],
                batch_seconds=time.perf_counter() - started)
        log.info("batch committed", extra={"evidence": len(evidence), "new_evidence": result.new_evidence,
                                           "tallies": len(tallies), "signals": len(result.signals),
                                           "total_evidence": rep.evidence,
                                           "partitions": sorted(f"{t}/{p}" for t, p in nexts)})
        return True

    def _decode(self, messages: list[Message]) -> tuple[list[Evidence], list[PassTally], list[QualityTally],
                                                        dict[tuple[str, int], int]]:
        """Messages not applied yet -> evidence, fresh tallies and quality tallies, and the next offset per
        partition."""
        evidence: list[Evidence] = []
        tallies: list[PassTally] = []
        quality: list[QualityTally] = []
        nexts: dict[tuple[str, int], int] = {}
        rep = self.report
        for msg in messages:
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
                if topic == self.cfg.tally_topic and is_quality(msg.headers()):
                    counts = decode_quality_message(msg.value() or b"")
                    kept = fresh_quality(self._marks, counts)
                    rep.quality_rows += sum(t.rows for t in kept)
                    rep.quality_duplicates += sum(t.rows for t in counts) - sum(t.rows for t in kept)
                    quality.extend(kept)
                elif topic == self.cfg.tally_topic:
                    message = decode_tally_message(msg.value() or b"")
                    fresh = self._marks.fresh(message)
                    rep.tally_duplicates += sum(t.count for t in message) - sum(t.count for t in fresh)
                    tallies.extend(fresh)
                else:
                    # Stream processors and Spark write this topic too: guard every string (idempotent on ours).
                    kind, ts = msg.timestamp()  # the message's own time: a rerun sees the same reference
                    received = iso_ms(ts) if kind != TIMESTAMP_NOT_AVAILABLE else None
                    evidence.append(foreign_evidence(msg.value() or b"", self._skew, received))
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                rep.poison += 1  # never blocks the partition: its offset still moves on
                if self.metrics is not None:
                    self.metrics.error("poison")
                log.warning("undecodable message skipped", extra={"topic": topic, "partition": partition,
                                                                  "offset": offset, "error": str(e)})
        return evidence, tallies, quality, nexts

    def _offsets(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in sorted(self._positions.items())]


def stage_config(flags: dict[str, Any]) -> KafkaConfig:
    """`KafkaConfig` for this stage: the topics it consumes are the evidence and tally topics."""
    base = KafkaConfig.from_sources({**flags, "topics": "-"})  # validated below with the real topics
    return KafkaConfig(bootstrap_servers=base.bootstrap_servers, group_id=base.group_id,
                       topics=(base.evidence_topic, base.tally_topic), evidence_topic=base.evidence_topic,
                       tally_topic=base.tally_topic, signals_topic=base.signals_topic, batch_size=base.batch_size,
                       poll_timeout_s=base.poll_timeout_s,
                       properties=base.properties)
