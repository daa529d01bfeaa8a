"""DQ_BREACH per stream window: a contract's aggregate quality rules measured over each window of its dataset.

The enforcer counts, per dataset and event minute, what each record shows of the contract's aggregate
rules (`QualityTally`, contracts/aggregate.py: rows, bad records per rule, value digests per duplicate
rule). This engine folds those minutes into windows of the first configured contract window type
(TUMBLING_5MIN by default) with the shared watermark and lateness rules (windows.py), and judges every
rule when the window closes:

* one final DQ_BREACH signal per window of a dataset whose contract has aggregate rules (revision 1; a
  late correction is revision + 1), OK when no rule is breached. Its window type is the stream window's
  (a batch run's DQ_BREACH has window type BATCH_RUN), so the two never share a signal id.
* state: CRITICAL if a breached rule has FAIL severity (ODCS `severity: error`, or none), WARNING if only
  WARN rules (`severity: warning` / `info`) are breached, else OK.
* `top_failures`: one per breached rule, its signature `QUALITY_<METRIC>:<field>` (e.g.
  `QUALITY_NULL_VALUES:customer_id`, `QUALITY_ROW_COUNT:$`) and count (bad records, duplicated values, or
  rows). `details.rules` lists every rule's measurement: contract, rule key (file position), field,
  metric, operator, bound, unit, severity, measured value, rows and whether it breached.
* `metrics`: `records_processed` (rows), `rules_evaluated`, `rules_breached`, and `records_failed` — the
  largest bad-record count among the breached counted rules (null/missing/invalid/duplicate), absent
  when only rowCount breached. The alerting paging gate reads it (a page needs >= 5 bad records).

Every rule is judged at window close, so a rowCount floor is only known once the window has ended. A window
that the end of a finite input closes before its end (`flush`) does not judge rowCount (`not_judged`).

Early firing. A breach that more records cannot undo — a count in rows already above an upper bound
(`nullValues mustBeLessThan: 10` at 10 nulls, duplicates of a `unique` field, `rowCount mustBeLessThan`) —
is known before the window ends: once the rule's count also reaches `min_failing` (the floor a page needs),
the window emits a provisional DQ_BREACH (revision 0, `provisional`, timestamped at the end of the minute that
crossed it, or the window's end if sooner) with the figures so far. Each rule fires so at most once per
window, so a window emits at most one provisional signal per rule. Percentages and floors wait for close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from signal_factory.contracts.aggregate import (
    COUNTED,
    AggregateRule,
    QualityAcc,
    QualityTally,
    RuleVerdict,
    add,
    initialize,
    result,
    settled_breach,
)
from signal_factory.contracts.aggregate import FAIL as RULE_FAIL
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.model import CRITICAL, DQ_BREACH, OK, WARNING, Signal, TopFailure, Window, signal_id_for
from signal_factory.signals.windows import SPECS, Slot, WindowTable


class QualityState(msgspec.Struct):
    table: WindowTable[QualityAcc] | None = None
    last_start: dict[str, int] = msgspec.field(default_factory=dict)  # dataset -> latest window start it has had


def new_state(cfg: EngineConfig) -> QualityState:
    return QualityState(WindowTable[QualityAcc](cfg.contract_windows[0]))


class QualityEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: QualityState) -> None:
        self.cp = cp
        self.cfg = cfg
        if state.table is None or state.table.window_type != cfg.contract_windows[0]:
            state.table = WindowTable[QualityAcc](cfg.contract_windows[0])  # counts of another size cannot carry over
        self.state = state
        self.table: WindowTable[QualityAcc] = state.table

    def rules(self, urn: str) -> tuple[AggregateRule, ...]:
        ds = self.cp.datasets.get(urn)
        contract = self.cp.contract_for(ds) if ds is not None else None
        return contract.aggregates if contract is not None else ()

    def ingest(self, tallies: Sequence[QualityTally], watermark: Callable[[str], int | None]) -> list[Signal]:
        """Add a batch's minute tallies to their windows (late ones as the window rules say); returns the
        provisional signals of breaches already certain (see Early firing)."""
        lateness = self.cfg.allowed_lateness_ms
        last = self.state.last_start
        size = SPECS[self.table.window_type].size_ms
        fired: list[Signal] = []
        for t in tallies:
            rules = self.rules(t.dataset_urn)
            for start, slot in self.table.route(t.dataset_urn, t.minute_ms, t.rows, watermark(t.dataset_urn),
                                                lateness, initialize):
                add(slot.acc, t)
                if start > last.get(t.dataset_urn, start - 1):
                    last[t.dataset_urn] = start
                if not slot.closed and rules:
                    fired += self._early(t, start, start + size, slot, rules)
        return fired

    def _early(self, t: QualityTally, start: int, end: int, slot: Slot[QualityAcc],
               rules: tuple[AggregateRule, ...]) -> list[Signal]:
        verdicts = result(slot.acc, rules, complete=False)
        new = [v for v in verdicts if v.rule.key not in slot.acc.fired and settled_breach(v)
               and v.count >= self.cfg.min_failing]
        if not new:
            return []
        slot.acc.fired += [v.rule.key for v in new]
        at = min(t.minute_ms + 60_000, end)
        signal = build_signal(t.dataset_urn, self.table.window_type, start, end, verdicts, revision=0,
                              contract_id=self._contract_id(t.dataset_urn), early=(at, slot.provisional))
        slot.provisional += 1
        return [signal]

    def close(self, urn: str, watermark: int | None, complete: int | None, *, fill: bool = True) -> list[Signal]:
        """Final (and corrected) DQ_BREACH signals of the windows the watermark has passed. With `fill`, a
        dataset with a rowCount rule also gets the windows its records skipped (a silence), empty, so a
        floor is breached when such a window closes (at most `max_empty_windows` in one step)."""
        rules = self.rules(urn)
        if fill and watermark is not None and any(r.metric == "rowCount" for r in rules):
            self._fill(urn, watermark)
        due = self.table.close_due(urn, watermark, self.cfg.allowed_lateness_ms)
        if not due:
            return []
        if not rules:
            return []  # the contract lost its aggregate rules since (a reload): nothing to judge
        size = SPECS[self.table.window_type].size_ms
        out: list[Signal] = []
        for start, slot in due:
            end = start + size
            whole = complete is None or complete >= end
            verdicts = result(slot.acc, rules, whole)
            out.append(build_signal(urn, self.table.window_type, start, end, verdicts, revision=slot.revision,
                                    contract_id=self._contract_id(urn), late_count=slot.late_count))
        return out

    def _fill(self, urn: str, watermark: int) -> None:
        last = self.state.last_start.get(urn)
        if last is None:
            return
        spec = SPECS[self.table.window_type]
        start = last + spec.slide_ms
        if start + spec.size_ms > watermark:
            return
        skip = (watermark - spec.size_ms - start) // spec.slide_ms + 1 - self.cfg.max_empty_windows
        if skip > 0:  # a long silence: only the latest windows are filled
            start += skip * spec.slide_ms
        while start + spec.size_ms <= watermark:
            self.table.ensure(urn, start, initialize)
            self.state.last_start[urn] = start
            start += spec.slide_ms

    def urns(self) -> set[str]:
        return set(self.table.slots)

    def last_end(self, urn: str) -> int | None:
        return self.table.open_ends(urn)

    def _contract_id(self, urn: str) -> str | None:
        ds = self.cp.datasets.get(urn)
        contract = self.cp.contract_for(ds) if ds is not None else None
        return contract.contract_id if contract is not None else None


def state_of(verdicts: Sequence[RuleVerdict]) -> str:
    """CRITICAL if a FAIL rule breached, WARNING if only WARN rules did, else OK."""
    breached = [v for v in verdicts if not v.ok]
    if any(v.rule.severity == RULE_FAIL for v in breached):
        return CRITICAL
    return WARNING if breached else OK


def build_signal(urn: str, window_type: str, start_ms: int, end_ms: int, verdicts: Sequence[RuleVerdict], *,
                 revision: int, contract_id: str | None = None, late_count: int = 0,
                 early: tuple[int, int] | None = None) -> Signal:
    """One window's DQ_BREACH: every rule's measurement in `details.rules`, breached ones first. `early`:
    (event time, sequence) of a provisional signal, whose state and failures are the settled breaches only."""
    breached = [v for v in verdicts if not v.ok and (early is None or settled_breach(v))]
    rows = verdicts[0].rows if verdicts else 0
    metrics: dict[str, object] = {"records_processed": rows, "rules_evaluated": len(verdicts),
                                  "rules_breached": len(breached)}
    bad = [v.count for v in breached if v.rule.metric in (*COUNTED, "duplicateValues")]
    if bad:
        metrics["records_failed"] = max(bad)
    if late_count:
        metrics["late_count"] = late_count
    shown = {id(v) for v in breached}
    ordered = breached + [v for v in verdicts if id(v) not in shown]
    details: dict[str, object] = {"source": "contract_quality_window", "rules": [v.describe() for v in ordered]}
    if contract_id is not None:
        details["contract_id"] = contract_id
    start, end = iso_ms(start_ms), iso_ms(end_ms)
    return Signal(
        signal_id=signal_id_for(DQ_BREACH, urn, window_type, start, end_ms, revision, early[1] if early else 0),
        signal_type=DQ_BREACH, dataset_urn=urn, state=state_of(breached), window=Window(start, end, window_type),
        timestamp=iso_ms(early[0]) if early else end, metrics=metrics,
        top_failures=[TopFailure(signature=v.rule.signature, count=v.count,
                                 first_seen=iso_ms(v.first_ms) if v.first_ms is not None else None,
                                 producer=v.producer, producer_version=v.producer_version) for v in breached[:5]],
        details=details, provisional=early is not None, revision=revision)
