"""CONTRACT_BREACH over windows: batches in, provisional and final signals out (rules in contract.py).

Per batch, for each configured window type: one delta per (dataset, window) built from the batch's minute
counts, its non-PASS evidence and the PASS tallies it releases.

Sampled-out PASS tallies (counts per dataset-minute, no per-record place) are held until the dataset's
stream has moved past their minute: a tally of minute m counts, in the sequential test and in the window
figures, as compliant records just before the first record of its dataset (arrival order, later batches
included) whose event minute is after m, or when the watermark passes the end of m (`close`). A record
never sees the tallies of its own minute, whatever the batch size: in a stream that arrives in minute
order, signals (provisional ones included) are the same for batches of 1 or 1,000 records.

Early firing. Each dataset's record stream (arrival order, tallies placed as above) runs the sequential
test of significance.py. It visits only the FAIL records: the
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

from collections.abc import Callable, Iterable, Sequence
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
from signal_factory.signals.intake import BatchView, Failure, advances, event_time, minute_ms
from signal_factory.signals.model import CRITICAL, Signal
from signal_factory.signals.significance import Alarm, EarlyStat
from signal_factory.signals.windows import SPECS, Slot, WindowTable, starts_containing

_DEFAULT_SLO = ThresholdSlo()
_RANK = {"": 0, "WARNING": 1, CRITICAL: 2}
MINUTE_MS = 60_000

#: tallies a batch releases, per dataset: (place in the dataset's stream they count before, minute, count)
Released = dict[str, list[tuple[int, int, int]]]


class Alarms(NamedTuple):
    """The sequential test's alarms in one batch for one dataset: the highest per minute, and (computed
    again from the test's state before the batch, only when a window replays) the alarm at each record."""

    best: dict[int, int]  # minute -> highest alarm rank in it (1 WARNING, 2 CRITICAL)
    before: EarlyStat
    params: stats.Params
    fails: list[Failure]
    records: int
    tallies: list[tuple[int, int, int]]  # released tallies (place, minute, count)
    by_record: dict[int, Alarm]  # id(evidence) -> the alarm at that FAIL record (filled on first use)

    def at(self, key: int) -> Alarm | None:
        if not self.by_record:
            _scan(msgspec.structs.replace(self.before), self.params, self.fails, self.records, self.tallies,
                  self.by_record)
        return self.by_record.get(key)


def _scan(st: EarlyStat, p: stats.Params, fails: list[Failure], records: int, tallies: list[tuple[int, int, int]],
          by_record: dict[int, Alarm] | None) -> dict[int, int]:
    """Run the test over one dataset's FAIL/WARN records of a batch (`records` timed records in all, `tallies`
    released before the records at their places); returns the highest alarm rank per minute, and fills
    `by_record` if given. The engine's hot loop in a breach: per FAIL record a few float operations, no
    allocation unless `by_record` is wanted."""
    passes, failure = stats.passes, stats.failure
    best: dict[int, int] = {}
    prev = -1
    ti = 0
    for t, minute, ev, seq in fails:
        while ti < len(tallies) and tallies[ti][0] <= seq:
            passes(st, tallies[ti][2], p)
            ti += 1
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
    passes(st, records - prev - 1 + sum(n for _, _, n in tallies[ti:]), p)
    return best


class ContractState(msgspec.Struct):
    tables: list[WindowTable[ContractAcc]]
    early: dict[str, EarlyStat] = msgspec.field(default_factory=dict)  # dataset -> its sequential test
    held: dict[str, dict[int, int]] = msgspec.field(default_factory=dict)  # dataset -> minute -> PASS tallied, not
    # yet counted (see the module doc)


def new_state(cfg: EngineConfig) -> ContractState:
    return ContractState([WindowTable[ContractAcc](t) for t in cfg.contract_windows])


class ContractEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: ContractState) -> None:
        self.cp = cp
        self.cfg = cfg
        self.state = state

    def windows_for(self, urn: str) -> tuple[str, ...]:
        """The window kinds this dataset's records go to: its own `window` (datasets.yaml), else the engines'
        default; the first drives its CONTRACT_BREACH state."""
        ds = self.cp.datasets.get(urn)
        return (ds.window,) if ds is not None and ds.window else self.cfg.contract_windows

    def _tables_for(self, urns: Iterable[str]) -> dict[str, set[str]]:
        """Window kind -> the datasets (of `urns`) that use it; makes the kinds' tables exist. A kind no
        dataset uses any more keeps its table until its open windows have closed."""
        wanted: dict[str, set[str]] = {}
        for urn in urns:
            for kind in self.windows_for(urn):
                wanted.setdefault(kind, set()).add(urn)
        have = {t.window_type for t in self.state.tables}
        for kind in wanted:
            if kind not in have:
                self.state.tables.append(WindowTable[ContractAcc](kind))
        return wanted

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
        released = self._release(view, evidence)
        alarms = self._run_tests(view, released)
        fired: list[Signal] = []
        users = self._tables_for({urn for urn, _ in view.counts} | view.untimed.keys() | released.keys())
        for table in self.state.tables:
            mine = users.get(table.window_type)
            if not mine:
                continue
            for urn, n in view.untimed.items():
                if urn in mine:
                    table.late_dropped[urn] = table.late_dropped.get(urn, 0) + n
            pending: dict[tuple[str, int], tuple[Slot[ContractAcc], ContractAcc]] = {}
            tallied: dict[tuple[str, int], list[tuple[int, int]]] = {}  # window -> released (place, count)
            for urn, rows in released.items():
                if urn not in mine:
                    continue
                for seq, minute, n in rows:
                    for start, slot in table.route(urn, minute, n, watermark(urn), lateness, initialize):
                        hit = pending.get((urn, start))
                        if hit is None:
                            hit = pending[(urn, start)] = (slot, initialize())
                        hit[1].pass_count += n
                        tallied.setdefault((urn, start), []).append((seq, n))
            for (urn, minute), row in view.counts.items():
                if urn not in mine:
                    continue
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
                    fired += self._replay(table.window_type, urn, start, slot, evidence, found,
                                          tallied.get((urn, start), []))
                else:
                    add(slot.acc, delta)
        return fired

    def _release(self, view: BatchView, evidence: Sequence[Evidence]) -> Released:
        """Hold the batch's tallies; release, per dataset, those whose minute its records move past (in
        order of place). One more pass over the batch, only when a dataset in it has tallies held."""
        held = self.state.held
        for (urn, minute), n in view.tallies.items():
            per = held.setdefault(urn, {})
            per[minute] = per.get(minute, 0) + n
        moving = {urn for urn in held if view.records.get(urn)}
        if not moving:
            return {}
        out: Released = {}
        for urn, steps in advances(evidence, moving).items():
            per = held[urn]
            rows = out.setdefault(urn, [])
            for seq, minute in steps:
                for m in sorted(m for m in per if m < minute):
                    rows.append((seq, m, per.pop(m)))
            if not per:
                del held[urn]
        return out

    def _run_tests(self, view: BatchView, released: Released) -> dict[str, Alarms]:
        """Run each dataset's sequential test over the batch; the alarms, per dataset and minute."""
        tests = self.state.early
        by_urn: dict[str, list[Failure]] = {}
        for f in view.failures:
            by_urn.setdefault(f.ev.dataset_urn, []).append(f)
        out: dict[str, Alarms] = {}
        for urn, n in view.records.items():
            st = tests.get(urn)
            if st is not None and urn not in by_urn:
                stats.passes(st, n + sum(k for _, _, k in released.get(urn, ())), self.params(urn))
        for urn, fails in by_urn.items():
            p = self.params(urn)
            st = tests.get(urn)
            if st is None:
                st = tests[urn] = EarlyStat()
            before = msgspec.structs.replace(st)
            tallies = released.get(urn, [])
            best = _scan(st, p, fails, view.records.get(urn, 0), tallies, None)
            if best:
                out[urn] = Alarms(best, before, p, fails, view.records.get(urn, 0), tallies, {})
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
                alarms: Alarms, tallies: list[tuple[int, int]]) -> list[Signal]:
        """Add this window's share of the batch one evidence at a time (its released `tallies` at their places),
        emitting where the rules say."""
        end = start + SPECS[window_type].size_ms
        slo = self.slo(urn)
        p = self.params(urn)
        fired: list[Signal] = []
        seq = -1
        ti = 0
        for ev in evidence:
            if ev.dataset_urn != urn:
                continue
            t = event_time(ev)
            if t is not None:
                seq += 1  # the record's place, as `intake.group` counts it
            while ti < len(tallies) and tallies[ti][0] <= seq:
                slot.acc.pass_count += tallies[ti][1]
                ti += 1
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
        slot.acc.pass_count += sum(n for _, n in tallies[ti:])
        return fired

    def close(self, urn: str, watermark: int | None) -> list[Signal]:
        """Final and corrected signals for windows the watermark has passed."""
        out: list[Signal] = []
        lateness = self.cfg.allowed_lateness_ms
        slo = self.slo(urn)
        p = self.params(urn)
        if watermark is not None:
            self.release_held(urn, watermark, watermark)
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

    def release_held(self, urn: str, until: int | None, watermark: int | None) -> None:
        """Count the held tallies of minutes that end by `until` (None: all, at the end of a finite input), as
        when the watermark passes them in a stream that went quiet: into the test, and into their windows
        (still open or closing now, so not late; a window long gone counts them as late-dropped)."""
        per = self.state.held.get(urn)
        if not per:
            return
        done = sorted(m for m in per if until is None or m + MINUTE_MS <= until)
        st = self.state.early.get(urn)
        lateness = self.cfg.allowed_lateness_ms
        kinds = self._tables_for((urn,))
        for m in done:
            n = per.pop(m)
            if st is not None:
                stats.passes(st, n, self.params(urn))
            for table in self.state.tables:
                if table.window_type not in kinds:
                    continue
                slots = table.slots.setdefault(urn, {})
                spec = SPECS[table.window_type]
                dropped = 0
                for start in starts_containing(spec, m):
                    slot = slots.get(start)
                    if slot is None and watermark is not None and start + spec.size_ms + lateness <= watermark:
                        dropped = n  # its window is long gone: counted once, as `WindowTable.route` does
                        continue
                    if slot is None:
                        slot = slots[start] = Slot(initialize())
                    slot.acc.pass_count += n
                if dropped:
                    table.late_dropped[urn] = table.late_dropped.get(urn, 0) + dropped
        if not per:
            del self.state.held[urn]

    def urns(self) -> set[str]:
        return {urn for table in self.state.tables for urn in table.slots}

    def last_end(self, urn: str) -> int | None:
        ends = [e for table in self.state.tables if (e := table.open_ends(urn)) is not None]
        return max(ends) if ends else None
