"""VOLUME_ANOMALY: records per dataset per window (TUMBLING_1HR by default) against a learned baseline.

Counts are exact: evidence of every result plus sampled-out PASS tallies. Every window of a dataset
with `slo.volume` reports once it closes - including empty ones after its first record (a silence is
the loudest volume anomaly), at most `max_empty_windows` of them in one step.

Baseline: median and MAD (baseline.py) of the final counts of earlier windows in the same slot of the
week (hour-of-week for hourly windows); if fewer than `slo.volume.min_history_windows` of those, the
same slot of the day; then all earlier windows. Before any level has enough samples the signal is
**UNKNOWN** (it reports the count and says it is still learning: `details.baseline = "LEARNING"`), so no
alarm. History holds `volume_history_ms` (8 weeks) of window counts per dataset; a late correction
updates the count it holds. Partly observed windows - the one the dataset's first record fell in
(unless it began on that minute), and windows force-closed by `flush` before their end was reached -
are UNKNOWN with `details.partial_window` and stay out of the history.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import VolumeSlo
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.baseline import band, judge
from signal_factory.signals.config import DAY_MS, WEEK_MS, EngineConfig
from signal_factory.signals.intake import BatchView
from signal_factory.signals.model import UNKNOWN, VOLUME_ANOMALY, Signal, Window, signal_id_for
from signal_factory.signals.windows import SPECS, WindowTable

HOUR_OF_WEEK = "SAME_SLOT_OF_WEEK"
HOUR_OF_DAY = "SAME_SLOT_OF_DAY"
ALL_WINDOWS = "ALL_WINDOWS"


def initialize() -> int:
    return 0


def add(acc: int, item: int) -> int:
    return acc + item


def baseline_samples(history: dict[int, int], start: int, min_windows: int) -> tuple[str, list[int]]:
    """The most specific level with enough earlier windows, and its counts (level LEARNING if none)."""
    earlier = {s: n for s, n in history.items() if s < start}
    for level, period in ((HOUR_OF_WEEK, WEEK_MS), (HOUR_OF_DAY, DAY_MS)):
        same = [n for s, n in earlier.items() if (start - s) % period == 0]
        if len(same) >= min_windows:
            return level, same
    if len(earlier) >= min_windows:
        return ALL_WINDOWS, list(earlier.values())
    return "LEARNING", list(earlier.values())


def result(count: int, history: dict[int, int], start: int, slo: VolumeSlo) -> tuple[str, dict[str, object], str]:
    """State, metrics and baseline level for a window's final count."""
    level, samples = baseline_samples(history, start, slo.min_history_windows)
    metrics: dict[str, object] = {"observed_count": count, "history_windows": len(samples)}
    if level == "LEARNING":
        return UNKNOWN, metrics, level
    b = band(samples, slo.tolerance)
    metrics.update(expected_low=round(b.low, 2), expected_high=round(b.high, 2), baseline_median=b.median,
                   baseline_mad=b.mad, tolerance=slo.tolerance)
    return judge(count, b), metrics, level


class VolumeDataset(msgspec.Struct):
    cursor: int  # start of the next window to make sure exists (empty windows report too)
    first_minute: int  # the dataset's first record: windows that began before it were seen only in part
    history: dict[int, int] = msgspec.field(default_factory=dict)  # window start -> final count


class VolumeState(msgspec.Struct):
    table: WindowTable[int]
    datasets: dict[str, VolumeDataset] = msgspec.field(default_factory=dict)


def new_state(cfg: EngineConfig) -> VolumeState:
    return VolumeState(WindowTable[int](cfg.volume_window))


class VolumeEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: VolumeState) -> None:
        self.cp = cp
        self.cfg = cfg
        self.state = state
        self.spec = SPECS[state.table.window_type]
        self.slos = {urn: ds.slo.volume for urn, ds in cp.datasets.items() if ds.slo.volume is not None}

    def ingest(self, view: BatchView, watermark: Callable[[str], int | None]) -> None:
        table = self.state.table
        lateness = self.cfg.allowed_lateness_ms
        for urn, n in view.untimed.items():
            if urn in self.slos:
                table.late_dropped[urn] = table.late_dropped.get(urn, 0) + n
        counts = dict(view.tallies)
        for key, row in view.counts.items():
            counts[key] = counts.get(key, 0) + row[0] + row[1] + row[2]
        firsts: dict[str, int] = {}
        for urn, minute in counts:
            if urn in self.slos and urn not in self.state.datasets:
                firsts[urn] = min(firsts.get(urn, minute), minute)
        for urn, minute in firsts.items():
            self.state.datasets[urn] = VolumeDataset(minute - minute % self.spec.slide_ms, minute)
        for (urn, minute), n in counts.items():
            if urn in self.slos:
                for _, slot in table.route(urn, minute, n, watermark(urn), lateness, initialize):
                    slot.acc = add(slot.acc, n)

    def close(self, urn: str, watermark: int | None, complete_until: int | None) -> list[Signal]:
        ds = self.state.datasets.get(urn)
        slo = self.slos.get(urn)
        if ds is None or slo is None or watermark is None:
            return []
        size, slide = self.spec.size_ms, self.spec.slide_ms
        fill_to = watermark if complete_until is None else min(watermark, complete_until)
        last_start = fill_to - size  # windows starting at or before this have ended
        if ds.cursor <= last_start:
            skip = (last_start - ds.cursor) // slide + 1 - self.cfg.max_empty_windows
            if skip > 0:
                ds.cursor += skip * slide
            for start in range(ds.cursor, last_start + 1, slide):
                self.state.table.ensure(urn, start, initialize)
            ds.cursor = last_start - last_start % slide + slide
        table = self.state.table
        due = table.close_due(urn, watermark, self.cfg.allowed_lateness_ms)
        dropped = table.take_late_dropped(urn) if due else 0
        out = []
        for start, slot in due:
            end = start + size
            ds.cursor = max(ds.cursor, start + slide)  # a reported window is never re-created empty
            partial = start < ds.first_minute or (complete_until is not None and end > complete_until)
            if partial:
                metrics: dict[str, object] = {"observed_count": slot.acc}
                state, level = UNKNOWN, "PARTIAL"
            else:
                state, metrics, level = result(slot.acc, ds.history, start, slo)
                ds.history[start] = slot.acc
            details: dict[str, object] = {"baseline": level}
            if "expected_low" in metrics:
                details["expected_range"] = [metrics["expected_low"], metrics["expected_high"]]
            if slot.late_count:
                metrics["late_count"] = slot.late_count
            if dropped:
                metrics["late_dropped_count"] = dropped
                details["flags"] = ["LATE_DATA_DROPPED"]
                dropped = 0
            if partial:
                details["partial_window"] = True
            begin, finish = iso_ms(start), iso_ms(end)
            out.append(Signal(
                signal_id=signal_id_for(VOLUME_ANOMALY, urn, table.window_type, begin, end, slot.revision),
                signal_type=VOLUME_ANOMALY, dataset_urn=urn, state=state,
                window=Window(begin, finish, table.window_type), timestamp=finish, metrics=metrics, details=details,
                revision=slot.revision))
        if due:
            horizon = watermark - self.cfg.volume_history_ms
            for start in [s for s in ds.history if s < horizon]:
                del ds.history[start]
        return out
