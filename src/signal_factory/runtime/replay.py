"""Embedded pipeline: record files -> enforcer -> evidence store -> signal engines -> alerting.

Records are streamed in event-time order (`sources.ordered`: bounded memory, merged across files).
Every batch is one transaction: evidence, signals, signal state, incidents, outbox rows, the input
checkpoint and the engines' snapshot commit together, so a crash or a second run of the same input
neither loses nor double-counts anything.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from signal_factory.alerting.dispatcher import DispatchReport, OutboxDispatcher
from signal_factory.alerting.engine import AlertingEngine, IncidentChange
from signal_factory.alerting.policy import AlertPolicy, load_alert_policy
from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.errors import StoreFailedError
from signal_factory.graph.deployments import load_markers
from signal_factory.graph.writer import GraphWriter
from signal_factory.model.evidence import FAIL, Evidence
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.model.storable import storable_evidence
from signal_factory.model.tally import PassTally
from signal_factory.signals.host import EngineConfig, SignalEngineHost
from signal_factory.signals.model import BatchRunTotals, DatasetChecks, Signal
from signal_factory.sources.ordered import DEFAULT_WINDOW, ordered_records, scan_files
from signal_factory.stores.ports import EvidenceRepo, Store

ENGINE_STATE = "signal-engines"
_SETUP, _RECORDS, _FLUSH, _DISPATCH = "setup", "records", "flush", "dispatch"


@dataclass
class _Progress:
    """How far a replay got: what is committed when a database failure stops it."""

    phase: str = _SETUP
    total: int | None = None
    committed: int = 0  # the input checkpoint: records before it are committed
    batches: int = 0  # committed in this run


class ReplayInterruptedError(StoreFailedError):
    """The database failed mid-replay. The message is one line: the cause (the driver's first line, no
    SQL, no values), what is committed (the checkpoint), and how to resume (rerun the same replay)."""

    def __init__(self, reason: str, progress: _Progress) -> None:
        self.committed = progress.committed
        self.total = progress.total
        self.batches = progress.batches
        if progress.phase == _SETUP:
            done = "no record of this input was processed in this run"
        elif progress.phase == _RECORDS:
            done = (f"{progress.committed:,} of {progress.total:,} records are committed (checkpoint "
                    f"{progress.committed:,}, {progress.batches:,} batches in this run), the batch in hand was "
                    "rolled back")
        elif progress.phase == _FLUSH:
            done = (f"all {progress.total:,} records are committed (checkpoint {progress.committed:,}), closing "
                    "the open windows was rolled back")
        else:
            done = (f"all {progress.total:,} records and their signals are committed, unsent notifications "
                    "stay queued")
        super().__init__(reason, f"replay stopped: the database failed ({reason}); {done}. Fix: bring the "
                                 "database back, then rerun the same replay command (same files, same --db): "
                                 "it resumes from the checkpoint and counts nothing twice")


@dataclass
class ReplayReport:
    records: int = 0
    skipped: int = 0
    new_evidence: int = 0
    signals: list[Signal] = field(default_factory=list)
    changes: list[IncidentChange] = field(default_factory=list)
    dispatch: DispatchReport | None = None
    seconds: float = 0.0
    first_failure_wall_s: float | None = None
    first_incident_wall_s: float | None = None
    first_failure_event: str | None = None


class _History:
    """The store's evidence history as the drift engine's `SignatureHistory`."""

    def __init__(self, evidence: EvidenceRepo) -> None:
        self._evidence = evidence

    def last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        return self._evidence.signature_last_seen(dataset_urn, signature, before_ms)


def load_records(files: Sequence[Path], default_topic: str | None = None,
                 ) -> tuple[list[RawRecord | MalformedInput], str]:
    """All records of `files` in replay order (`sources.ordered`), as a list, and the key identifying
    this exact input (for its checkpoint). `replay` itself streams them instead."""
    return list(ordered_records(files, default_topic)), scan_files(files).source_key


class ReplayService:
    def __init__(self, cp: ControlPlane, store: Store, enforcer: Enforcer, *, engine_config: EngineConfig | None = None,
                 policy: AlertPolicy | None = None, dispatcher: OutboxDispatcher | None = None,
                 engine_state: str = ENGINE_STATE, publish: Callable[[Sequence[Signal]], None] | None = None) -> None:
        self.cp = cp
        #: Called inside the unit of work with the signals it stored, before the commit (e.g. the Kafka
        #: signals topic); raising rolls the unit back, so a published signal may repeat but is never lost.
        self.publish = publish
        #: Name of the engines' snapshot blob (one per independently owned set of engines, e.g. per
        #: Kafka partition: `signal-engines:<topic>/<partition>`).
        self.engine_state = engine_state
        self.store = store
        self.enforcer = enforcer
        self.policy = policy or load_alert_policy(cp)
        self.alerting = AlertingEngine(cp, self.policy, store.incidents, store.outbox, notices=store.checkpoints)
        self.dispatcher = dispatcher
        self.graph = GraphWriter(store.graph, cp)
        self._engine_config = engine_config
        self.host = self._load_host()  # the engines resume from the committed snapshot, if any

    def replay(self, files: Sequence[Path], *, batch_size: int = 1000, default_topic: str | None = None,
               flush: bool = True, on_progress: Callable[[int], None] | None = None,
               deployments: Sequence[Path] = (), on_start: Callable[[int, int], None] | None = None,
               reorder_window: int = DEFAULT_WINDOW) -> ReplayReport:
        """Replay `files` from their checkpoint, streamed in event-time order (`sources.ordered` states the
        guarantee and `reorder_window`). `on_start(total, already_done)` is called once the input is
        counted, `on_progress(n)` after each committed batch. A database failure midway raises
        `ReplayInterruptedError`, which says how far the input is committed; rerunning the same replay
        resumes from there."""
        started = time.perf_counter()
        report = ReplayReport()
        progress = _Progress()
        try:
            self._replay(files, batch_size, default_topic, flush, on_progress, on_start, reorder_window, deployments,
                         report, progress)
        except StoreFailedError as e:
            raise ReplayInterruptedError(e.reason, progress) from e
        report.seconds = time.perf_counter() - started
        return report

    def _replay(self, files: Sequence[Path], batch_size: int, default_topic: str | None, flush: bool,
                on_progress: Callable[[int], None] | None, on_start: Callable[[int, int], None] | None,
                reorder_window: int, deployments: Sequence[Path], report: ReplayReport, progress: _Progress) -> None:
        markers = [m for path in deployments for m in load_markers(path)]
        with self.store.transaction():  # lineage and deploy markers first, so evidence links to them
            self.graph.write_control_plane()
            self.graph.write_deployments(markers)
        scan = scan_files(files)  # one pass over the bytes: the record count and the checkpoint's key
        report.records = progress.total = scan.records
        done = self.store.checkpoints.get(scan.source_key) or 0
        report.skipped = progress.committed = min(done, scan.records)
        if on_start is not None:
            on_start(scan.records, report.skipped)
        progress.phase = _RECORDS
        stream = ordered_records(files, default_topic, window=reorder_window)
        position = 0
        for _ in itertools.islice(stream, done):  # committed by an earlier run (parsed, not enforced)
            position += 1
        while chunk := list(itertools.islice(stream, batch_size)):
            position += len(chunk)
            self._batch(self.enforcer.process, chunk, report, (scan.source_key, position))
            progress.committed = position
            progress.batches += 1
            if on_progress is not None:
                on_progress(len(chunk))
        progress.phase = _FLUSH
        if flush:
            with self.store.transaction():
                self._emit(self.host.flush(), [], report)
                self.store.checkpoints.save_state(self.engine_state, self.host.snapshot())
        progress.phase = _DISPATCH
        if self.dispatcher is not None:
            report.dispatch = self.dispatcher.run_once(time.time())

    def ingest(self, records: Sequence[RawRecord | MalformedInput], *,
               on_batch: Callable[[EnforceBatch], None] | None = None) -> ReplayReport:
        """Process `records` in the given order as one batch (one transaction), exactly as `replay` does
        one chunk: enforce -> store -> signals -> alerting -> graph. Windows stay open (no flush).
        `on_batch` sees what the enforcer made of them (e.g. to answer per record)."""
        started = time.perf_counter()
        report = ReplayReport(records=len(records))

        def enforce(chunk: Sequence[RawRecord | MalformedInput]) -> EnforceBatch:
            batch = self.enforcer.process(chunk)
            if on_batch is not None:
                on_batch(batch)
            return batch

        if records:
            self._batch(enforce, records, report, None)
        report.seconds = time.perf_counter() - started
        return report

    def ingest_evidence(self, evidence: Sequence[Evidence], *, tallies: Sequence[PassTally] = (),
                        quality: Sequence[QualityTally] = (), checkpoints: Mapping[str, int] | None = None,
                        guard: Callable[[], None] | None = None, quality_once: bool = False) -> ReplayReport:
        """Evidence made elsewhere (e.g. a Spark job's gates) stored and fed to the engines as one batch,
        through the same path as `ingest` minus the enforcer. Already stored ids are skipped.

        `tallies` (sampled-out PASS counts) are added as they are: they carry no id, so the caller must
        not pass the same tally twice; `checkpoints` (input position per source key, e.g. the next Kafka
        offset per partition) are saved in the same transaction, which is what makes that possible.
        `guard()` runs first inside that transaction; raising rolls it back (fencing a lost owner).
        `quality` (aggregate-rule counts of the same records, e.g. an S3 object's rows) counts only when none of
        the evidence was stored before: counts carry no id, and a redelivery must not count twice.
        `quality_once`: the caller already trimmed `quality` to what was not counted (the Kafka signals stage,
        by source offsets); it then counts whatever the evidence."""
        started = time.perf_counter()
        report = ReplayReport(records=len(evidence))
        evidence = storable_evidence(evidence)  # made elsewhere: NUL must not reach a store either
        if evidence or tallies or quality or checkpoints:
            self._batch(lambda _: EnforceBatch(evidence=list(evidence), tallies=list(tallies), quality=list(quality)),
                        [], report, None, extra_checkpoints=checkpoints, guard=guard, quality_once=quality_once)
        report.seconds = time.perf_counter() - started
        return report

    def flush_windows(self, *, checkpoints: Mapping[str, int] | None = None,
                      guard: Callable[[], None] | None = None) -> ReplayReport:
        """Close every open window now (end of a finite input; see `SignalEngineHost.flush`), with the
        resulting signals, incidents and the engines' snapshot in one transaction."""
        started = time.perf_counter()
        report = ReplayReport()
        try:
            with self.store.transaction():
                if guard is not None:
                    guard()
                self._emit(self.host.flush(), [], report)
                for key, position in (checkpoints or {}).items():
                    self.store.checkpoints.put(key, position)
                self.store.checkpoints.save_state(self.engine_state, self.host.snapshot())
        except BaseException:
            with contextlib.suppress(Exception):  # a broken store must not hide the original error
                self._rollback_memory()
            raise
        report.seconds = time.perf_counter() - started
        return report

    def ingest_run(self, runs: Sequence[BatchRunTotals], *, write: Callable[[], None] | None = None,
                   checks: Sequence[DatasetChecks] = ()) -> ReplayReport:
        """Batch runs (e.g. from OpenLineage COMPLETE events) fed to the engines as one unit of work:
        `write()` first (the caller's own graph/store writes), then per run the graph's JobRun lineage
        (`GraphWriter.on_batch_run`) and the engines' DQ/cost/drift/freshness signals, then the runs'
        data-quality checks (OpenLineage DQ facets, one DQ_BREACH per dataset), in one transaction."""
        started = time.perf_counter()
        report = ReplayReport(records=len(runs))
        try:
            with self.store.transaction():
                if write is not None:
                    write()
                for run in runs:
                    self.graph.on_batch_run(run)
                    self._emit(self.host.add_batch_run(run), [], report)
                for check in checks:
                    signals = self.host.add_dataset_checks(check)
                    for signal in signals:
                        self.graph.on_dataset_checks(check, signal)
                    self._emit(signals, [], report)
                if runs or checks:
                    self.store.checkpoints.save_state(self.engine_state, self.host.snapshot())
        except BaseException:
            with contextlib.suppress(Exception):  # a broken store must not hide the original error
                self._rollback_memory()
            raise
        report.seconds = time.perf_counter() - started
        return report

    def _batch(self, enforce: Callable[[Sequence[RawRecord | MalformedInput]], EnforceBatch],
               records: Sequence[RawRecord | MalformedInput], report: ReplayReport,
               checkpoint: tuple[str, int] | None, *, extra_checkpoints: Mapping[str, int] | None = None,
               guard: Callable[[], None] | None = None, quality_once: bool = False) -> None:
        """One unit of work. If it fails, the engines and the graph writer go back to what was committed."""
        try:
            with self.store.transaction():
                if guard is not None:
                    guard()
                batch = enforce(records)
                new_ids = set(self.store.evidence.add_many(batch.evidence, batch.tallies))
                quality = batch.quality
                if quality and not quality_once and any(e.evidence_id not in new_ids for e in batch.evidence):
                    quality = []  # evidence stored before (a redelivery): its records were counted then
                # First copy wins, as in the store: a batch may hold an evidence and its re-sent copy
                # (an enforcer that crashed between flush and commit), which must count once.
                fresh = []
                for e in batch.evidence:
                    if e.evidence_id in new_ids:
                        new_ids.discard(e.evidence_id)
                        fresh.append(e)
                report.new_evidence += len(fresh)
                self.graph.on_evidence(fresh)
                if report.first_failure_wall_s is None and any(e.validation.result == FAIL for e in fresh):
                    report.first_failure_wall_s = time.perf_counter()
                    report.first_failure_event = next(e.event_time() for e in fresh if e.validation.result == FAIL)
                self._emit(self.host.add_evidence(fresh, batch.tallies, quality), fresh, report)
                if checkpoint is not None:
                    self.store.checkpoints.put(*checkpoint)
                for key, position in (extra_checkpoints or {}).items():
                    self.store.checkpoints.put(key, position)
                self.store.checkpoints.save_state(self.engine_state, self.host.snapshot())
        except BaseException:
            with contextlib.suppress(Exception):  # a broken store must not hide the original error
                self._rollback_memory()
            raise

    def _rollback_memory(self) -> None:
        self.graph.reset()
        self.host = self._load_host()

    def _load_host(self) -> SignalEngineHost:
        blob = self.store.checkpoints.load_state(self.engine_state)
        history = _History(self.store.evidence)
        return (SignalEngineHost.restore(self.cp, blob, config=self._engine_config, history=history) if blob
                else SignalEngineHost(self.cp, self._engine_config, history))

    def _emit(self, signals: list[Signal], fresh: list[Evidence], report: ReplayReport) -> None:
        if not signals:
            return
        by_id = {e.evidence_id: e for e in fresh}
        stored: list[Signal] = []
        for signal in signals:
            self._add_trace(signal, by_id)
            if not self.store.signals.add(signal):
                continue  # already processed (idempotent re-run)
            stored.append(signal)
            report.signals.append(signal)
            self.graph.on_signal(signal)
            changes = self.alerting.on_signal(signal)
            for change in changes:
                self.graph.on_incident(change.incident)
            if changes and report.first_incident_wall_s is None:
                report.first_incident_wall_s = time.perf_counter()
            report.changes.extend(changes)
        for state in self.host.states():
            self.store.signals.put_state(state)
        if stored and self.publish is not None:
            self.publish(stored)

    def _add_trace(self, signal: Signal, by_id: dict[str, Evidence]) -> None:
        """Carry the first failing evidence's trace id, so the incident can name it (seed Step 5)."""
        if not signal.evidence_refs or (signal.details or {}).get("primary_trace_id"):
            return
        ev = by_id.get(signal.evidence_refs[0]) or self.store.evidence.get(signal.evidence_refs[0])
        if ev is not None and ev.otel is not None and ev.otel.trace_id:
            signal.details = {**(signal.details or {}), "primary_trace_id": ev.otel.trace_id}
