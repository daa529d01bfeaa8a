"""Counting sampled-out PASS records exactly once, though the enforcer may send a tally twice.

Evidence has an id, so a batch the enforcer re-sends after a crash between its flush and its offset
commit is dropped by id. A `PassTally` has no id: it is a count. What it counts does have one: the
source offsets (`PassTally.ranges`, per source topic and partition). The enforcer sends all tallies of
one batch for one (dataset, source partition) as ONE message (a JSON array), keyed by the dataset, so
they arrive in order on one tally partition. The signals stage keeps, per (dataset, source partition),
the highest source offset it has counted (a store checkpoint, committed with the counts), and counts a
tally's offsets above that mark only:

* an exact re-send (same batch, after a crash): every offset is at or below the mark -> dropped;
* a re-send that starts inside what was counted and runs further (a restarted enforcer consumes a
  bigger batch from the last committed offset) -> only the new offsets count;
* two enforcer instances overlapping during a rebalance (a zombie still finishing a batch): in
  either order, each offset counts once.

Within one source partition the enforcer consumes in offset order and every batch restarts from a
committed offset, so "above the mark" is exactly "not counted yet". Tallies without a source (made
from files, where the replay checkpoint already guarantees once-only) pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import msgspec

from signal_factory.model.tally import PassTally

_decoder = msgspec.json.Decoder(list[PassTally] | PassTally)
_encoder = msgspec.json.Encoder()

T = TypeVar("T")
SourceKey = tuple[str, str, int]  # (dataset URN, source topic, source partition)


def mark_key(dataset_urn: str, topic: str, partition: int) -> str:
    """Store checkpoint holding the highest source offset counted for this dataset and source partition."""
    return f"tally:{dataset_urn}|{topic}/{partition}"


def encode_tally_messages(tallies: Iterable[PassTally]) -> list[tuple[str, bytes]]:
    """(key, value) per Kafka message: one JSON array per (dataset, source partition) of one batch."""
    groups: dict[tuple[str, str | None, int | None], list[PassTally]] = {}
    for t in tallies:
        groups.setdefault((t.dataset_urn, t.topic, t.partition), []).append(t)
    return [(urn, _encoder.encode(items)) for (urn, _t, _p), items in groups.items()]


def decode_tally_message(value: bytes) -> list[PassTally]:
    """A tally message: the array form above, or a single object (older enforcers)."""
    out = _decoder.decode(value)
    return out if isinstance(out, list) else [out]


def count_above(ranges: Iterable[tuple[int, int]], mark: int) -> tuple[tuple[int, int], ...]:
    """The parts of inclusive offset `ranges` above `mark`."""
    return tuple((max(a, mark + 1), b) for a, b in ranges if b > mark)


def _pass_source(t: PassTally) -> tuple[str, int] | None:
    if t.topic is None or t.partition is None or not t.ranges:
        return None
    return mark_key(t.dataset_urn, t.topic, t.partition), max(b for _a, b in t.ranges)


def _pass_above(t: PassTally, mark: int) -> PassTally | None:
    ranges = count_above(t.ranges, mark)
    if not ranges:
        return None
    return msgspec.structs.replace(t, count=sum(b - a + 1 for a, b in ranges), ranges=ranges)


class TallyMarks:
    """Per (dataset, source partition) and kind of count: the highest source offset already counted.

    `fresh(message)` returns the message's tallies trimmed to what was not counted yet and moves the
    pending marks; `checkpoints()` gives the pending marks to commit with the counts; `committed()`
    makes them the known marks; `forget()` drops everything cached (ownership changed; re-read from the
    store). `load(key)` reads a committed mark (None = nothing counted yet).
    """

    def __init__(self, load: Callable[[str], int | None]) -> None:
        self._load = load
        self._known: dict[str, int | None] = {}
        self._pending: dict[str, int] = {}

    def _mark(self, key: str) -> int | None:
        if key in self._pending:
            return self._pending[key]
        if key not in self._known:
            self._known[key] = self._load(key)
        return self._known[key]

    def fresh(self, message: list[PassTally]) -> list[PassTally]:
        """Trim one message's PASS tallies to the offsets not counted yet (see `trim`)."""
        return self.trim(message, _pass_source, _pass_above)

    def trim(self, message: list[T], source: Callable[[T], tuple[str, int] | None],
             above: Callable[[T, int], T | None]) -> list[T]:
        """Trim one message's counts: `source(t)` is (mark key, highest offset t counts), None when t has no
        Kafka source; `above(t, mark)` is t cut to its offsets above `mark` (None: nothing left). All of
        them are judged against the marks as they were before the message: one batch's tallies for a
        source partition interleave their offsets (one tally per minute and producer), so a mark moved by
        the first must not cut the second."""
        before: dict[str, int | None] = {}
        out: list[T] = []
        for t in message:
            src = source(t)
            if src is None:
                out.append(t)  # not from Kafka: nothing to dedupe by
                continue
            key, top = src
            if key not in before:
                before[key] = self._mark(key)
            mark = before[key]
            kept = t if mark is None else above(t, mark)
            if kept is not None:
                out.append(kept)
            current = self._mark(key)
            if current is None or top > current:
                self._pending[key] = top
        return out

    def checkpoints(self) -> Mapping[str, int]:
        return dict(self._pending)

    def committed(self) -> None:
        self._known.update(self._pending)
        self._pending.clear()

    def rolled_back(self) -> None:
        self._pending.clear()

    def forget(self) -> None:
        self._known.clear()
        self._pending.clear()
