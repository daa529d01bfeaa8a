"""Event-time windows with watermarks and allowed lateness, shared by the windowed engines.

Window types: TUMBLING_5MIN, TUMBLING_1HR, and SLIDING_15MIN (15-minute windows starting every 5
minutes, so each instant is in three). Windows align to the epoch (UTC), so every window holds whole
minutes and a PASS tally (counted per minute) falls in the same windows as its records.

Lateness semantics, per dataset:

* watermark = (max event time seen for the dataset) - out-of-orderness, raised by `advance_to`;
  it only moves forward, and moves at batch boundaries (a batch is assigned with the watermark it found).
* A window is **open** while watermark < end. It **closes** (its final signal, revision 1) once
  watermark >= end.
* Evidence for a closed window while watermark < end + allowed lateness is **late but accepted**: it
  is added, the window's `late_count` grows and a corrected final signal (revision + 1) follows.
* Later than that it is **dropped from the window but counted**: the dataset's `late_dropped` count
  grows and is reported (and flagged) on the engine's next signal for that dataset. Nothing is
  dropped silently. Windows are forgotten once watermark >= end + allowed lateness.

An engine plugs in by its accumulator: `initialize() -> A` and `add(A, item) -> A` (see `Slot.acc`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

import msgspec

from signal_factory.signals.config import EngineConfigError
from signal_factory.signals.model import SLIDING_15MIN, TUMBLING_1HR, TUMBLING_5MIN

A = TypeVar("A")


class WindowSpec(NamedTuple):
    type: str
    size_ms: int
    slide_ms: int


SPECS = {
    TUMBLING_5MIN: WindowSpec(TUMBLING_5MIN, 300_000, 300_000),
    TUMBLING_1HR: WindowSpec(TUMBLING_1HR, 3_600_000, 3_600_000),
    SLIDING_15MIN: WindowSpec(SLIDING_15MIN, 900_000, 300_000),
}


def spec_for(window_type: str) -> WindowSpec:
    spec = SPECS.get(window_type)
    if spec is None:
        raise EngineConfigError(f"unknown window type {window_type!r}; expected one of {', '.join(SPECS)}")
    return spec


def starts_containing(spec: WindowSpec, t_ms: int) -> range:
    """Start times of every window of `spec` that contains the instant `t_ms`, oldest first."""
    last = t_ms - t_ms % spec.slide_ms
    return range(last - spec.size_ms + spec.slide_ms, last + 1, spec.slide_ms)


class Slot(msgspec.Struct, Generic[A]):
    """One window of one dataset: the engine's accumulator plus emission bookkeeping.

    `revision` is the last revision emitted: 0 before close (a provisional signal is revision 0),
    1 for the first final signal, + 1 per correction. `provisional` counts the provisional signals the
    window emitted before close; `provisional_state` and `provisional_rate` are the state and failure
    rate of the last one.
    """

    acc: A
    revision: int = 0
    closed: bool = False
    dirty: bool = False
    late_count: int = 0
    provisional: int = 0
    provisional_state: str = ""
    provisional_rate: float = 0.0


class WindowTable(msgspec.Struct, Generic[A]):
    """Open and recently closed windows of one window type, per dataset, plus pending late drops."""

    window_type: str
    slots: dict[str, dict[int, Slot[A]]] = msgspec.field(default_factory=dict)
    late_dropped: dict[str, int] = msgspec.field(default_factory=dict)

    def route(self, urn: str, t_ms: int, count: int, watermark: int | None, lateness_ms: int,
              initialize: Callable[[], A]) -> list[tuple[int, Slot[A]]]:
        """The windows that take `count` records at `t_ms` (open or late-but-accepted), by start.

        Creates windows on first use. Records whose window is past allowed lateness go to
        `late_dropped` (once per record, however many sliding windows dropped them).
        """
        spec = SPECS[self.window_type]
        per_urn = self.slots.get(urn)
        if per_urn is None:
            per_urn = self.slots[urn] = {}
        out: list[tuple[int, Slot[A]]] = []
        dropped = False
        for start in starts_containing(spec, t_ms):
            end = start + spec.size_ms
            slot = per_urn.get(start)
            if watermark is None or watermark < end:
                if slot is None:
                    slot = per_urn[start] = Slot(initialize())
                out.append((start, slot))
            elif watermark < end + lateness_ms:
                if slot is None:
                    slot = per_urn[start] = Slot(initialize(), closed=True)
                slot.dirty = True
                slot.late_count += count
                out.append((start, slot))
            else:
                dropped = True
        if dropped:
            self.late_dropped[urn] = self.late_dropped.get(urn, 0) + count
        return out

    def ensure(self, urn: str, start: int, initialize: Callable[[], A]) -> None:
        """Make sure an (empty) window exists, so it closes and reports even with no records."""
        per_urn = self.slots.setdefault(urn, {})
        if start not in per_urn:
            per_urn[start] = Slot(initialize())

    def close_due(self, urn: str, watermark: int | None, lateness_ms: int) -> list[tuple[int, Slot[A]]]:
        """Windows to (re)emit now, by start: newly closed ones and closed ones with late data.

        Bumps their revision; forgets windows whose lateness has expired.
        """
        per_urn = self.slots.get(urn)
        if not per_urn or watermark is None:
            return []
        size = SPECS[self.window_type].size_ms
        out: list[tuple[int, Slot[A]]] = []
        for start in sorted(per_urn):
            slot = per_urn[start]
            end = start + size
            if (not slot.closed and watermark >= end) or (slot.closed and slot.dirty):
                slot.closed = True
                slot.dirty = False
                slot.revision += 1
                out.append((start, slot))
            if slot.closed and watermark >= end + lateness_ms:
                del per_urn[start]
        if not per_urn:
            del self.slots[urn]
        return out

    def open_ends(self, urn: str) -> int | None:
        """End of the latest window of this dataset (open or closed), if any."""
        per_urn = self.slots.get(urn)
        if not per_urn:
            return None
        return max(per_urn) + SPECS[self.window_type].size_ms

    def take_late_dropped(self, urn: str) -> int:
        return self.late_dropped.pop(urn, 0)
