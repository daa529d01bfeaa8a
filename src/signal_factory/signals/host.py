"""SignalEngineHost: every signal engine behind one small API, with snapshot/restore.

    host = SignalEngineHost(cp)
    signals = host.add_evidence(batch.evidence, batch.tallies, batch.quality)   # provisional, final, drift...
    signals += host.advance_to(now_ms)                           # wall-clock tick: close windows, freshness
    signals += host.flush()                                      # end of a finite replay
    blob = host.snapshot(); host = SignalEngineHost.restore(cp, blob)

Pure: no IO, no wall clock. Signal timestamps are event time and ids are derived from content, so the
same input gives byte-identical signals, and a host restored from a snapshot taken between two calls
gives the same signals as one that never stopped. Each call returns its signals sorted by
(timestamp, signal type, dataset, window type, window start, revision).

Watermarks are per dataset (see windows.py), so a backfilling or lagging source never makes another
source's records late; `advance_to(t)` raises every dataset's watermark (and the freshness clock) to t.
Batch-run evidence feeds its run's BATCH_RUN signals and clock-skewed evidence never moves a watermark
or the freshness clock (routing.py, runs.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.errors import SignalFactoryError
from signal_factory.model.evidence import Evidence
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals import contract_engine, runs, volume
from signal_factory.signals.batch import BatchEngine, CostState
from signal_factory.signals.checks import checks_signal
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.contract import ContractAcc
from signal_factory.signals.contract_engine import ContractEngine, ContractState
from signal_factory.signals.drift import DriftEngine, DriftState, SignatureHistory, run_sightings, sightings
from signal_factory.signals.freshness import FreshnessEngine, FreshnessState
from signal_factory.signals.intake import event_time, group
from signal_factory.signals.model import (
    CONTRACT_BREACH,
    SIGNAL_TYPES,
    BatchRunTotals,
    DatasetChecks,
    Signal,
    SignalState,
)
from signal_factory.signals.quality_engine import QualityEngine, QualityState
from signal_factory.signals.routing import any_skewed, batch_run_id, retime, split
from signal_factory.signals.status import apply, listing
from signal_factory.signals.volume import VolumeEngine, VolumeState
from signal_factory.signals.windows import WindowTable

__all__ = ["EngineConfig", "HostState", "SignalEngineHost", "SignatureHistory", "SnapshotError"]

SNAPSHOT_VERSION = 2  # 2: the contract engine's sequential test replaced expected-volume history
_TYPE_ORDER = {t: i for i, t in enumerate(SIGNAL_TYPES)}


class SnapshotError(SignalFactoryError):
    """A host snapshot could not be read back."""


class HostState(msgspec.Struct):
    """Everything a host knows, as plain data (this is what a snapshot holds)."""

    version: int
    config: EngineConfig
    contract: ContractState
    volume: VolumeState
    freshness: FreshnessState = msgspec.field(default_factory=FreshnessState)
    drift: DriftState = msgspec.field(default_factory=DriftState)
    cost: CostState = msgspec.field(default_factory=CostState)
    watermarks: dict[str, int] = msgspec.field(default_factory=dict)
    floor_ms: int | None = None  # raised by advance_to: no dataset's watermark is below it
    clock_ms: int | None = None  # the freshness clock: largest watermark or advance_to instant
    states: dict[str, dict[str, SignalState]] = msgspec.field(default_factory=dict)
    batch_runs: runs.RunsState = msgspec.field(default_factory=runs.RunsState)  # batch evidence per waiting run
    event_max: dict[str, int] = msgspec.field(default_factory=dict)  # latest trusted event time per dataset
    clock_skew: dict[str, int] = msgspec.field(default_factory=dict)  # skewed evidence not yet reported
    quality: QualityState = msgspec.field(default_factory=QualityState)  # aggregate contract rules per window


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(HostState)


class SignalEngineHost:
    def __init__(self, cp: ControlPlane, config: EngineConfig | None = None,
                 history: SignatureHistory | None = None, *, _state: HostState | None = None) -> None:
        cfg = config or (_state.config if _state is not None else EngineConfig())
        if _state is None:
            _state = HostState(SNAPSHOT_VERSION, cfg, contract_engine.new_state(cfg), volume.new_state(cfg))
        _reconcile(_state, cfg)
        self.cp = cp
        self.cfg = cfg
        self._s = _state
        self._contract = ContractEngine(cp, cfg, _state.contract)
        self._volume = VolumeEngine(cp, cfg, _state.volume)
        self._freshness = FreshnessEngine(cp, cfg, _state.freshness)
        self._drift = DriftEngine(cp, cfg, _state.drift, history)
        self._batch = BatchEngine(cp, cfg, _state.cost)
        self._quality = QualityEngine(cp, cfg, _state.quality)

    # -- input ---------------------------------------------------------------------------------------

    def add_evidence(self, evidence: Sequence[Evidence], tallies: Sequence[PassTally] = (),
                     quality: Sequence[QualityTally] = ()) -> list[Signal]:
        """Aggregate a batch (tallies count sampled-out PASS records; `quality` is what its records showed of
        their contracts' aggregate rules, `EnforceBatch.quality`); returns the signals it caused."""
        s = self._s
        stream, batch = split(evidence)
        view = group(stream, tallies)
        if any_skewed(view.failures):  # rare: re-time the skewed records and group again
            stream, skewed = retime(stream, s.event_max.get)
            for urn, n in skewed.items():
                s.clock_skew[urn] = s.clock_skew.get(urn, 0) + n
            view = group(stream, tallies)
        out = self._contract.ingest(view, stream, self.watermark)
        self._volume.ingest(view, self.watermark)
        if quality:
            out += self._quality.ingest(quality, self.watermark)
        out += self._drift.observe(sightings(view.failures))[0]
        if batch:
            out += self._batch_evidence(batch)
        spans: dict[str, list[int]] = {}
        for urn, (lo, hi) in view.spans.items():
            lo_ms, hi_ms = parse_iso_ms(lo), parse_iso_ms(hi)
            if lo_ms is not None and hi_ms is not None:
                spans[urn] = [lo_ms, hi_ms]
        for urn, minute in view.tallies:
            span = spans.setdefault(urn, [minute, minute])
            span[0], span[1] = min(span[0], minute), max(span[1], minute)
        for urn in sorted(spans):
            lo_ms, hi_ms = spans[urn]
            out += self._freshness.observe_batch(urn, lo_ms, hi_ms, view, evidence)
            self._raise(urn, hi_ms - self.cfg.out_of_orderness_ms)
            if hi_ms > s.event_max.get(urn, hi_ms - 1):
                s.event_max[urn] = hi_ms
        for urn in sorted(spans.keys() | view.untimed.keys()):
            out += self._close(urn)
        out += self._freshness.check(s.clock_ms)
        if s.batch_runs.pending:
            out += self._release_runs()
        return self._emit(out)

    def add_batch_run(self, run: BatchRunTotals) -> list[Signal]:
        """A finished batch run: drift of its signatures, DQ_BREACH (with the run's evidence), COST_ANOMALY,
        freshness."""
        keep = self.cfg.batch_pending_runs
        seen = runs.take(self._s.batch_runs, run.run_id, keep)
        dag_run = run.batch_context.get("dag_run_id")
        if seen is None and isinstance(dag_run, str) and dag_run in self._s.batch_runs.pending:
            seen = runs.take(self._s.batch_runs, dag_run, keep)  # evidence that named only its DAG run
        drift, new = self._drift.observe(run_sightings(run))
        out = drift + self._batch.dq(run, {sig: fresh for (_, sig), fresh in new.items()}, seen)
        out += self._batch.cost(run)
        end_ms = parse_iso_ms(run.ended_at)
        if end_ms is not None:
            out += self._freshness.observe(run.dataset_urn, end_ms, end_ms)
            self._s.clock_ms = end_ms if self._s.clock_ms is None else max(self._s.clock_ms, end_ms)
            out += self._freshness.check(self._s.clock_ms)
        out += self._release_runs()
        return self._emit(out)

    def add_dataset_checks(self, checks: DatasetChecks) -> list[Signal]:
        """A run's data-quality facets about one dataset: its DQ_BREACH from the assertions, and from the
        metrics judged against the dataset's contract aggregate rules (checks.py)."""
        cp = self._batch.cp
        ds = cp.datasets.get(checks.dataset_urn)
        contract = cp.contract_for(ds) if ds is not None else None
        signal = checks_signal(checks, contract.aggregates if contract is not None else ())
        return self._emit([signal] if signal is not None else [])

    def advance_to(self, event_time_ms: int) -> list[Signal]:
        """Time has reached `event_time_ms` (a wall-clock tick or the end of a replay): close and check."""
        s = self._s
        s.floor_ms = event_time_ms if s.floor_ms is None else max(s.floor_ms, event_time_ms)
        out: list[Signal] = []
        for urn in sorted(self._known()):
            self._raise(urn, event_time_ms)
            out += self._close(urn)
        s.clock_ms = event_time_ms if s.clock_ms is None else max(s.clock_ms, event_time_ms)
        out += self._freshness.check(s.clock_ms)
        out += self._release_runs()
        return self._emit(out)

    def flush(self) -> list[Signal]:
        """Close every open window now (end of a finite input).

        Windows that had not ended by the dataset's watermark still report (volume marks them partial);
        the datasets' watermarks move past them, so evidence for them afterwards counts as late-dropped.
        """
        out: list[Signal] = []
        for urn in sorted(self._known()):
            complete = self.watermark(urn)
            self._contract.release_held(urn, None, complete)
            ends = [e for e in (self._contract.last_end(urn), self._volume.state.table.open_ends(urn),
                                self._quality.last_end(urn)) if e is not None]
            if not ends:
                continue
            self._raise(urn, max(ends) + self.cfg.allowed_lateness_ms, clock=False)
            out += self._close(urn, complete if complete is not None else max(ends))
        return self._emit(out)

    # -- output --------------------------------------------------------------------------------------

    def states(self) -> list[SignalState]:
        """Current state per (dataset, engine), sorted by dataset then state key."""
        return listing(self._s.states)

    def watermark(self, urn: str) -> int | None:
        wm = self._s.watermarks.get(urn)
        floor = self._s.floor_ms
        if wm is None:
            return floor
        return wm if floor is None else max(wm, floor)

    def snapshot(self) -> bytes:
        """Everything needed to resume exactly, msgspec (MessagePack) encoded."""
        return _encoder.encode(self._s)

    @classmethod
    def restore(cls, cp: ControlPlane, blob: bytes, config: EngineConfig | None = None,
                history: SignatureHistory | None = None) -> SignalEngineHost:
        """A host that continues where the snapshot's host stopped (its settings unless `config` is given)."""
        try:
            state = _decoder.decode(blob)
        except msgspec.DecodeError as e:
            raise SnapshotError(f"not a signal-engine snapshot ({e}); pass bytes from SignalEngineHost.snapshot()"
                                ) from e
        if state.version != SNAPSHOT_VERSION:
            raise SnapshotError(f"snapshot version {state.version}, this build reads version {SNAPSHOT_VERSION}; "
                                "replay the input from before the snapshot instead")
        return cls(cp, config, history, _state=state)

    # -- internals -----------------------------------------------------------------------------------

    def _known(self) -> set[str]:
        return (self._contract.urns() | set(self._volume.state.table.slots) | set(self._volume.state.datasets)
                | self._quality.urns() | set(self._s.watermarks))

    def _raise(self, urn: str, watermark: int, *, clock: bool = True) -> None:
        s = self._s
        current = s.watermarks.get(urn)
        if current is None or watermark > current:
            s.watermarks[urn] = watermark
        if clock and (s.clock_ms is None or watermark > s.clock_ms):
            s.clock_ms = watermark

    def _close(self, urn: str, complete_until: int | None = None) -> list[Signal]:
        wm = self.watermark(urn)
        complete = wm if complete_until is None else complete_until
        contract = self._contract.close(urn, wm)
        if contract and urn in self._s.clock_skew:
            _report_skew(contract[0], self._s.clock_skew.pop(urn))
        quality = self._quality.close(urn, wm, complete, fill=complete_until is None)
        return contract + self._volume.close(urn, wm, complete) + quality

    def _batch_evidence(self, batch: list[Evidence]) -> list[Signal]:
        """Batch-run evidence: drift, and counts held for its run's DQ_BREACH (never the stream windows)."""
        drift, new = self._drift.observe(sightings(group(batch).failures))
        touched: dict[str, runs.RunEvidence] = {}
        for ev in batch:
            rid, t = batch_run_id(ev), event_time(ev)
            if rid is None or t is None:
                continue
            acc = runs.add(self._s.batch_runs, rid, t, ev)
            if acc is not None:
                touched[rid] = acc
        for (urn, sig), fresh in sorted(new.items()):
            if not fresh:
                continue
            for acc in touched.values():
                if acc.dataset_urn == urn and sig not in acc.new and (sig in acc.failures or sig in acc.warnings):
                    acc.new.append(sig)
        return drift

    def _release_runs(self) -> list[Signal]:
        """Evidence-only DQ_BREACH for runs that never reported (idle past the timeout, or too many waiting)."""
        out: list[Signal] = []
        for rid, acc in runs.release(self._s.batch_runs, self._s.clock_ms, self.cfg.batch_run_timeout_ms,
                                     self.cfg.batch_pending_runs):
            out += self._batch.dq(runs.totals_of(rid, acc), {}, acc)
        return out

    def _emit(self, signals: list[Signal]) -> list[Signal]:
        signals.sort(key=_order)
        for sig in signals:
            window = self._contract.windows_for(sig.dataset_urn)[0]
            apply(self._s.states, sig, window, self.cfg.evidence_sample_size)
        return signals


def _reconcile(state: HostState, cfg: EngineConfig) -> None:
    """Fit restored state to (possibly changed) settings: windows kept where their type still runs, or
    while they still hold open windows (a dataset's own `window` kind; its table is made on first use)."""
    state.config = cfg
    tables = {t.window_type: t for t in state.contract.tables}
    state.contract.tables = [tables.pop(w) if w in tables else WindowTable[ContractAcc](w)
                             for w in cfg.contract_windows]
    state.contract.tables += [t for t in tables.values() if t.slots]
    if state.volume.table.window_type != cfg.volume_window:
        state.volume = volume.new_state(cfg)  # counts of another window size cannot serve as a baseline


def _report_skew(signal: Signal, count: int) -> None:
    """`clock_skew_count` on a final CONTRACT_BREACH, flagged like late drops (ids do not depend on metrics)."""
    assert signal.signal_type == CONTRACT_BREACH
    signal.metrics["clock_skew_count"] = count
    flags = list((signal.details or {}).get("flags", []))
    signal.details = {**(signal.details or {}), "flags": [*flags, "CLOCK_SKEW"]}


def _order(sig: Signal) -> tuple[str, int, str, str, str, int, str]:
    w = sig.window
    return (sig.timestamp, _TYPE_ORDER.get(sig.signal_type, 99), sig.dataset_urn, w.type if w else "",
            w.start if w else "", sig.revision, sig.signal_id)
