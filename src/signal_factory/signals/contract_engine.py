"""CONTRACT_BREACH over windows: batches in, provisional and final signals out (rules in contract.py).

Per batch, for each configured window type: sampled-out PASS tallies are added first, then one delta
per (dataset, window) built from the batch's minute counts and its non-PASS evidence.

Early firing. Each dataset's record stream (arrival order; a batch's tallies count as compliant records
before its evidence) runs the sequential test of significance.py. It visits only the FAIL records: the
compliant records between two of them are counted from their places in the stream (`Failure.seq`).
While the test alarms, a FAIL record fires a provisional signal (revision 0, timestamped at that
record's event time) for each open window that holds it, when the window

* has not fired yet (state WARNING or CRITICAL, as the alarm says), or
* fired WARNING and the alarm is now CRITICAL (escalation), or
* saw its failure rate rise by at least `early_update_step` and at least double since its last
  provisional signal (so notifications carry current figures).

A window's failure rate can double from >= 10% at most 4 times, so a window emits at most 6 provisional
signals. Windows that might fire in this batch (a cheap bound) replay their part of the batch one
evidence at a time, so a provisional signal carries the window's figures at the record that fired it;
every other window takes its delta in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.model.evidence import FAIL, Evidence
from signal_factory.signals import significance as stats
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.contract import (
    ContractAcc,
    Early,
    add,
    add_failure,
    build_signal,
    initialize,
    observe,
)
from signal_factory.signals.intake import BatchView, Failure, event_time, minute_ms
from signal_factory.signals.model import CRITICAL, Signal
from signal_factory.signals.significance import Alarm, EarlyStat
from signal_factory.signals.windows import SPECS, Slot, WindowTable

_DEFAULT_SLO = ThresholdSlo()
_RANK = {"": 0, "WARNING": 1, CRITICAL: 2}


class Alarms(NamedTuple):
    """The sequential test's alarms in one batch for one dataset: the highest per minute, and (computed
    again from the test's state before the batch, only when a window replays) the alarm at each record."""

    best: dict[int, int]  # minute -> highest alarm rank in it (1 WARNING, 2 CRITICAL)
    before: EarlyStat
    params: stats.Params
    fails: list[Failure]
    records: int
    by_record: dict[int, Alarm]  # id(evidence) -> the alarm at that FAIL record (filled on first use)

    def at(self, key: int) -> Alarm | None:
        if not self.by_record:
            _scan(msgspec.structs.replace(self.before), self.params, self.fails, self.records, self.by_record)
        return self.by_record.get(key)


def _scan(st: EarlyStat, p: stats.Params, fails: list[Failure], records: int,
          by_record: dict[int, Alarm] | None) -> dict[int, int]:
    """Run the test over one dataset's FAIL/WARN records of a batch (`records` timed records in all);
    returns the highest alarm rank per minute, and fills `by_record` if given. The engine's hot loop in a
    breach: per FAIL record a few float operations, no allocation unless `by_record` is wanted."""
    passes, failure = stats.passes, stats.failure
    best: dict[int, int] = {}
    prev = -1
    for t, minute, ev, seq in fails:
        if seq - prev > 1 and st.llr > 0.0:
            passes(st, seq - prev - 1, p)
        prev = seq
        if ev.validation.result != FAIL:
            passes(st, 1, p)  # a WARN is compliant
            continue
        state = failure(st, p, minute - minute % stats.EPOCH_MS, t)
        if state is not None:
            rank = _RANK[state]
            if best.get(minute, 0) < rank:
                best[minute] = rank
            if by_record is not None:
                by_record[id(ev)] = stats.alarm(st, state)
    passes(st, records - prev - 1, p)
    return best


class ContractState(msgspec.Struct):
    tables: list[WindowTable[ContractAcc]]
    early: dict[str, EarlyStat] = msgspec.field(default_factory=dict)  # dataset -> its sequential test


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

    def params(self, urn: str) -> stats.Params:
        cfg = self.cfg
        return stats.params_for(self.slo(urn), cfg.early_alpha, cfg.min_failing, cfg.confidence_z)

    def ingest(self, view: BatchView, evidence: Sequence[Evidence],
               watermark: Callable[[str], int | None]) -> list[Signal]:
        """Add a grouped batch; returns the provisional signals it fired."""
        lateness = self.cfg.allowed_lateness_ms
        by_group: dict[tuple[str, int], list[Failure]] = {}
        for f in view.failures:
            by_group.setdefault((f.ev.dataset_urn, f.minute), []).append(f)
        alarms = self._run_tests(view)
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
            size = SPECS[table.window_type].size_ms
            for (urn, start), (slot, delta) in pending.items():
                found = alarms.get(urn)
                if found is not None and not slot.closed and self._may_fire(slot, delta, found, start, start + size):
                    fired += self._replay(table.window_type, urn, start, slot, evidence, found)
                else:
                    add(slot.acc, delta)
        return fired

    def _run_tests(self, view: BatchView) -> dict[str, Alarms]:
        """Run each dataset's sequential test over the batch; the alarms, per dataset and minute."""
        tests = self.state.early
        for (urn, _), n in view.tallies.items():
            st = tests.get(urn)
            if st is not None:
                stats.passes(st, n, self.params(urn))
        by_urn: dict[str, list[Failure]] = {}
        for f in view.failures:
            by_urn.setdefault(f.ev.dataset_urn, []).append(f)
        out: dict[str, Alarms] = {}
        for urn, n in view.records.items():
            st = tests.get(urn)
            if st is not None and urn not in by_urn:
                stats.passes(st, n, self.params(urn))
        for urn, fails in by_urn.items():
            p = self.params(urn)
            st = tests.get(urn)
            if st is None:
                st = tests[urn] = EarlyStat()
            before = msgspec.structs.replace(st)
            best = _scan(st, p, fails, view.records.get(urn, 0), None)
            if best:
                out[urn] = Alarms(best, before, p, fails, view.records.get(urn, 0), {})
        return out

    def _may_fire(self, slot: Slot[ContractAcc], delta: ContractAcc, alarms: Alarms, start: int, end: int) -> bool:
        """Could this window emit a provisional signal during the batch? (False means certainly not.)"""
        best = 0
        for minute, rank in alarms.best.items():
            if start <= minute < end and rank > best:
                best = rank
        if best == 0:
            return False
        if slot.provisional == 0 or best > _RANK[slot.provisional_state]:
            return True
        acc = slot.acc
        n, failed = acc.evidence_count, acc.fail_count
        peak = max(failed / n if n else 0.0, (failed + delta.fail_count) / (n + delta.fail_count))
        return peak >= self._next_rate(slot.provisional_rate)

    def _next_rate(self, last: float) -> float:
        return last + max(self.cfg.early_update_step, last)

    def _replay(self, window_type: str, urn: str, start: int, slot: Slot[ContractAcc], evidence: Sequence[Evidence],
                alarms: Alarms) -> list[Signal]:
        """Add this window's share of the batch one evidence at a time, emitting where the rules say."""
        end = start + SPECS[window_type].size_ms
        slo = self.slo(urn)
        p = self.params(urn)
        fired: list[Signal] = []
        for ev in evidence:
            if ev.dataset_urn != urn:
                continue
            t = event_time(ev)
            minute = minute_ms(t[:16]) if t is not None else None
            if t is None or minute is None or not start <= minute < end:
                continue
            add(slot.acc, observe(ev, t))
            alarm = alarms.at(id(ev))
            if alarm is None:
                continue
            acc = slot.acc
            rate = acc.fail_count / acc.evidence_count
            prev = slot.provisional_state
            state = alarm.state if _RANK[alarm.state] >= _RANK[prev] else prev
            if slot.provisional and state == prev and rate < self._next_rate(slot.provisional_rate):
                continue
            fired.append(build_signal(urn, window_type, start, end, acc, slo, p, revision=0,
                                      early=Early(t, state, slot.provisional, alarm)))
            slot.provisional += 1
            slot.provisional_state = state
            slot.provisional_rate = rate
        return fired

    def close(self, urn: str, watermark: int | None) -> list[Signal]:
        """Final and corrected signals for windows the watermark has passed."""
        out: list[Signal] = []
        lateness = self.cfg.allowed_lateness_ms
        slo = self.slo(urn)
        p = self.params(urn)
        for table in self.state.tables:
            due = table.close_due(urn, watermark, lateness)
            if not due:
                continue
            size = SPECS[table.window_type].size_ms
            dropped = table.take_late_dropped(urn)
            for start, slot in due:
                out.append(build_signal(urn, table.window_type, start, start + size, slot.acc, slo, p,
                                        revision=slot.revision, late_count=slot.late_count, late_dropped=dropped))
                dropped = 0
        return out

    def urns(self) -> set[str]:
        return {urn for table in self.state.tables for urn in table.slots}

    def last_end(self, urn: str) -> int | None:
        ends = [e for table in self.state.tables if (e := table.open_ends(urn)) is not None]
        return max(ends) if ends else None
