"""CONTRACT_BREACH over windows: batches in, provisional and final signals out (rules in contract.py).

Per batch, for each configured window type: sampled-out PASS tallies are added first, then one delta
per (dataset, window) built from the batch's minute counts and its non-PASS evidence. A window that
might tip into early firing during this batch (a cheap bound: its worst possible running compliance,
all of the batch's failures first) replays its part of the batch one evidence at a time, so the
provisional signal carries the exact evidence that tipped it; every other window takes its delta in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.model.evidence import Evidence
from signal_factory.signals import contract as rules
from signal_factory.signals.baseline import median
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.contract import ContractAcc, add, add_failure, build_signal, initialize, observe
from signal_factory.signals.intake import BatchView, Failure, event_time, minute_ms
from signal_factory.signals.model import Signal
from signal_factory.signals.windows import SPECS, Slot, WindowTable

_DEFAULT_SLO = ThresholdSlo()


class ContractState(msgspec.Struct):
    tables: list[WindowTable[ContractAcc]]
    recent: dict[str, dict[str, list[int]]] = msgspec.field(default_factory=dict)  # type -> urn -> counts


def new_state(cfg: EngineConfig) -> ContractState:
    return ContractState([WindowTable[ContractAcc](t) for t in cfg.contract_windows])


class ContractEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: ContractState) -> None:
        self.cp = cp
        self.cfg = cfg
        self.state = state

    def slo(self, urn: str) -> ThresholdSlo:
        ds = self.cp.datasets.get(urn)
        return ds.slo.contract_compliance if ds is not None else _DEFAULT_SLO

    def expected(self, window_type: str, urn: str) -> float | None:
        """Median final evidence count of the dataset's recent windows of this type, once there are enough."""
        counts = self.state.recent.get(window_type, {}).get(urn)
        if counts is None or len(counts) < self.cfg.expected_volume_min_windows:
            return None
        return median(counts)

    def ingest(self, view: BatchView, evidence: Sequence[Evidence],
               watermark: Callable[[str], int | None]) -> list[Signal]:
        """Add a grouped batch; returns the provisional signals it fired."""
        lateness = self.cfg.allowed_lateness_ms
        by_group: dict[tuple[str, int], list[Failure]] = {}
        for f in view.failures:
            by_group.setdefault((f.ev.dataset_urn, f.minute), []).append(f)
        fired: list[Signal] = []
        for table in self.state.tables:
            for urn, n in view.untimed.items():
                table.late_dropped[urn] = table.late_dropped.get(urn, 0) + n
            for (urn, minute), n in view.tallies.items():
                for _, slot in table.route(urn, minute, n, watermark(urn), lateness, initialize):
                    slot.acc.pass_count += n
            pending: dict[tuple[str, int], tuple[Slot[ContractAcc], ContractAcc]] = {}
            for (urn, minute), row in view.counts.items():
                delta = ContractAcc(row[0], row[1], row[2])
                for f in by_group.get((urn, minute), ()):
                    add_failure(delta, f.t, f.ev)
                for start, slot in table.route(urn, minute, row[0] + row[1] + row[2], watermark(urn), lateness,
                                               initialize):
                    hit = pending.get((urn, start))
                    if hit is None:
                        hit = pending[(urn, start)] = (slot, initialize())
                    add(hit[1], delta)
            for (urn, start), (slot, delta) in pending.items():
                if not slot.closed and not slot.provisional and self._may_fire(table.window_type, urn, slot.acc, delta):
                    signal = self._replay(table.window_type, urn, start, slot, evidence)
                    if signal is not None:
                        fired.append(signal)
                else:
                    add(slot.acc, delta)
        return fired

    def _may_fire(self, window_type: str, urn: str, acc: ContractAcc, delta: ContractAcc) -> bool:
        """Could any running state of this window during the batch fire? (False means certainly not.)"""
        if acc.evidence_count + delta.evidence_count < self.cfg.min_early_evidence:
            return False
        worst_n = acc.evidence_count + delta.warn_count + delta.fail_count
        return rules.cannot_recover(acc.pass_count, worst_n, self.expected(window_type, urn), self.slo(urn), self.cfg)

    def _replay(self, window_type: str, urn: str, start: int, slot: Slot[ContractAcc],
                evidence: Sequence[Evidence]) -> Signal | None:
        """Add this window's share of the batch one evidence at a time; fire when the rule first holds."""
        end = start + SPECS[window_type].size_ms
        expected = self.expected(window_type, urn)
        slo = self.slo(urn)
        fired: Signal | None = None
        for ev in evidence:
            if ev.dataset_urn != urn:
                continue
            t = event_time(ev)
            minute = minute_ms(t[:16]) if t is not None else None
            if t is None or minute is None or not start <= minute < end:
                continue
            add(slot.acc, observe(ev, t))
            if fired is None and rules.should_fire(slot.acc, expected, slo, self.cfg):
                slot.provisional = True
                fired = build_signal(urn, window_type, start, end, slot.acc, slo, revision=0, provisional_at=t,
                                     expected=expected)
        return fired

    def close(self, urn: str, watermark: int | None, complete_until: int | None) -> list[Signal]:
        """Final and corrected signals for windows the watermark has passed.

        `complete_until`: windows ending after it are being force-closed (flush) and do not feed the
        expected-volume history.
        """
        out: list[Signal] = []
        lateness = self.cfg.allowed_lateness_ms
        slo = self.slo(urn)
        for table in self.state.tables:
            due = table.close_due(urn, watermark, lateness)
            if not due:
                continue
            size = SPECS[table.window_type].size_ms
            dropped = table.take_late_dropped(urn)
            for start, slot in due:
                end = start + size
                out.append(build_signal(urn, table.window_type, start, end, slot.acc, slo, revision=slot.revision,
                                        late_count=slot.late_count, late_dropped=dropped))
                dropped = 0
                if slot.revision == 1 and complete_until is not None and end <= complete_until:
                    counts = self.state.recent.setdefault(table.window_type, {}).setdefault(urn, [])
                    counts.append(slot.acc.evidence_count)
                    del counts[:-self.cfg.expected_volume_history]
        return out

    def urns(self) -> set[str]:
        return {urn for table in self.state.tables for urn in table.slots}

    def last_end(self, urn: str) -> int | None:
        ends = [e for table in self.state.tables if (e := table.open_ends(urn)) is not None]
        return max(ends) if ends else None
