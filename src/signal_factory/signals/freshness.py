"""FRESHNESS_BREACH: is each dataset with `slo.freshness` still receiving data on time?

Per dataset the engine keeps the latest event time seen (evidence, PASS tallies at their minute, or
the end of a batch run - a reported run counts as a successful, fresh write). Against a clock (the
largest watermark of any dataset, or an explicit `now` from `advance_to`), with lag = clock - last:

* lag <= expected_interval: OK; lag > expected_interval: WARNING; lag > `freshness_critical_factor`
  (2) x expected_interval: CRITICAL.

Signals are emitted on state changes only, as POINT signals timestamped at the instant the state
began by event time (last + interval for WARNING, last + 2 x interval for CRITICAL, the new record's
event time for recovery to OK); a state passed on the way up is reported too (a silence that is found
already CRITICAL reports its WARNING first), so ticks of different granularity give the same signals. A
dataset seen for the first time reports OK. A gap inside the event stream (the next records arrive more
than expected_interval after the previous ones) is a breach too: it reports the breach and the recovery,
also when both records are in one batch (intake finds the silences between its minutes), so the signals
do not depend on where batches begin and end.
Metrics: last_event_at, expected_interval_s, lag_s (the lag at the signal's instant: the threshold crossed,
0 on recovery; never the clock of whichever batch noticed it, which would make it batch-dependent).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from signal_factory.controlplane.loader import ControlPlane, parse_duration
from signal_factory.model.evidence import Evidence
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.intake import BatchView, silences
from signal_factory.signals.model import (
    CRITICAL,
    FRESHNESS_BREACH,
    OK,
    POINT,
    UNKNOWN,
    WARNING,
    Signal,
    Window,
    signal_id_for,
)


class FreshnessAcc(msgspec.Struct):
    last_ms: int | None = None
    state: str = UNKNOWN


def initialize() -> FreshnessAcc:
    return FreshnessAcc()


def add(acc: FreshnessAcc, event_ms: int) -> FreshnessAcc:
    if acc.last_ms is None or event_ms > acc.last_ms:
        acc.last_ms = event_ms
    return acc


def result(acc: FreshnessAcc, now_ms: int, interval_ms: int, critical_factor: float) -> str:
    if acc.last_ms is None:
        return UNKNOWN
    lag = now_ms - acc.last_ms
    if lag > critical_factor * interval_ms:
        return CRITICAL
    return WARNING if lag > interval_ms else OK


class FreshnessState(msgspec.Struct):
    datasets: dict[str, FreshnessAcc] = msgspec.field(default_factory=dict)


class FreshnessEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: FreshnessState) -> None:
        self.cfg = cfg
        self.state = state
        self.intervals = {urn: int(parse_duration(ds.slo.freshness.expected_interval) * 1000)
                          for urn, ds in cp.datasets.items() if ds.slo.freshness is not None}

    def observe_batch(self, urn: str, first_ms: int, last_ms: int, view: BatchView,
                      evidence: Sequence[Evidence]) -> list[Signal]:
        """A batch brought `urn` records with event times in [first_ms, last_ms]; silences between them that
        outlast the expected interval are judged as if the records had come one by one."""
        interval = self.intervals.get(urn)
        if interval is None:
            return []
        out: list[Signal] = []
        start = first_ms
        for before, after in silences(view, evidence, urn, interval):
            out += self.observe(urn, start, before)
            start = after
        return out + self.observe(urn, start, last_ms)

    def observe(self, urn: str, first_ms: int, last_ms: int) -> list[Signal]:
        """Records with event times in [first_ms, last_ms] (no silence between them) arrived for `urn`."""
        interval = self.intervals.get(urn)
        if interval is None:
            return []
        acc = self.state.datasets.get(urn)
        if acc is None:
            acc = self.state.datasets[urn] = initialize()
        out: list[Signal] = []
        old = acc.last_ms
        if old is not None and first_ms > old:
            out += self._escalate(urn, acc, first_ms, interval)
        if old is None or last_ms > old:
            add(acc, last_ms)
            if acc.state != OK:
                at = first_ms if old is None or first_ms > old else last_ms
                acc.state = OK
                out.append(self._signal(urn, acc, OK, at))
        return out

    def check(self, now_ms: int | None) -> list[Signal]:
        """Escalate datasets whose data is overdue at `now_ms`."""
        if now_ms is None:
            return []
        out = []
        for urn in sorted(self.state.datasets):
            acc = self.state.datasets[urn]
            interval = self.intervals.get(urn)
            if interval is not None and acc.last_ms is not None:
                out += self._escalate(urn, acc, now_ms, interval)
        return out

    def _escalate(self, urn: str, acc: FreshnessAcc, now_ms: int, interval: int) -> list[Signal]:
        """Every state worse than the current one that the lag at `now_ms` has reached, mildest first."""
        out = []
        new = result(acc, now_ms, interval, self.cfg.freshness_critical_factor)
        for state in (WARNING, CRITICAL):
            if _rank(acc.state) < _rank(state) <= _rank(new):
                assert acc.last_ms is not None
                factor = self.cfg.freshness_critical_factor if state == CRITICAL else 1.0
                out.append(self._signal(urn, acc, state, acc.last_ms + int(factor * interval)))
                acc.state = state
        return out

    def _signal(self, urn: str, acc: FreshnessAcc, state: str, at: int) -> Signal:
        assert acc.last_ms is not None
        stamp = iso_ms(at)
        return Signal(
            signal_id=signal_id_for(FRESHNESS_BREACH, urn, POINT, f"{stamp}#{state}", at, 1),
            signal_type=FRESHNESS_BREACH, dataset_urn=urn, state=state, window=Window(stamp, stamp, POINT),
            timestamp=stamp, revision=1,
            # On recovery the record that made it fresh is the last event; later records in the same batch
            # must not leak in (signals may not depend on batch boundaries).
            metrics={"last_event_at": iso_ms(at if state == OK else acc.last_ms),
                     "expected_interval_s": self.intervals[urn] / 1000,
                     "lag_s": (at - acc.last_ms) / 1000 if state != OK else 0.0})


def _rank(state: str) -> int:
    return {OK: 1, WARNING: 2, CRITICAL: 3}.get(state, 0)
