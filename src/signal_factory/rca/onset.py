"""When did a breach begin? A change point in a failure signature's arrivals, or in a dataset's records per minute.

A failure signature's first sighting is not always the start of the breach: a 0.3% background failure that a
deploy turns into 80% was first seen long before that deploy. Both questions are answered by one model, a
Poisson process whose rate changes once, fitted by maximum likelihood (the classic single change point):
splitting [start, end) at tau, the log likelihood of two constant rates, up to a constant, is

    c1 ln(c1 / d1) + c2 ln(c2 / d2)        (c: events, d: duration of each side)

against c ln(c / d) for one rate. The split with the largest gain is the onset when the likelihood-ratio
statistic 2 x gain is at least `LR_MIN` (30: a chance of well under one in a million for a steady rate) and the
rate moved by at least `RATIO_MIN` in the direction asked (up for a signature, down for a volume drop).
The fits are pure functions, O(n) in the events or minutes given; `signature_onset` reads the event times
from the evidence store (ids and times only, no documents).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from signal_factory.stores.ports import EvidenceRepo

MINUTE_MS = 60_000
LR_MIN = 30.0
RATIO_MIN = 10.0  # a signature's rate must jump tenfold to call the jump the breach's onset
DROP_RATIO_MIN = 2.0  # a volume level must at least halve (or double) to locate the change there
MIN_AFTER = 10  # events after an upward jump, at least
LOOKBACK_MS = 2 * 3_600_000  # how far before the first breaching signal a signature's onset is looked for
SAMPLE = 5  # evidence read after an onset to learn who produced it


@dataclass(frozen=True)
class Change:
    """A change of rate at `at_ms`: per minute before and after, and the likelihood-ratio statistic."""

    at_ms: int
    before_per_min: float
    after_per_min: float
    lr: float
    before_count: int
    after_count: int


def _ll(count: float, duration: float) -> float:
    return count * math.log(count / duration) if count > 0 and duration > 0 else 0.0


def rate_jump(times: Sequence[int], start_ms: int, end_ms: int) -> Change | None:
    """The event whose arrival began a much higher rate, for sorted event times in [start_ms, end_ms).

    Only a split with at least one event before it (a background to jump from) and `MIN_AFTER` after it is
    considered: a signature whose every sighting is part of one burst has no onset but its first one."""
    n = len(times)
    total = end_ms - start_ms
    if n < MIN_AFTER + 1 or total <= 0:
        return None
    base = _ll(n, total)
    best: tuple[float, int] | None = None
    for k in range(1, n - MIN_AFTER + 1):
        tau = times[k]
        if tau <= start_ms or tau >= end_ms or tau == times[k - 1]:
            continue
        gain = _ll(k, tau - start_ms) + _ll(n - k, end_ms - tau) - base
        if best is None or gain > best[0]:
            best = (gain, k)
    if best is None:
        return None
    gain, k = best
    tau = times[k]
    before = k / (tau - start_ms) * MINUTE_MS
    after = (n - k) / (end_ms - tau) * MINUTE_MS
    if 2 * gain < LR_MIN or after < RATIO_MIN * before:
        return None
    return Change(tau, before, after, 2 * gain, k, n - k)


def level_shift(counts: Mapping[int, int], start_ms: int, end_ms: int,
                direction: Literal["down", "up"]) -> Change | None:
    """The minute a dataset's records per minute dropped (or rose) to a new level, over the whole minutes in
    [start_ms, end_ms) (`counts`: minute start -> records; absent minutes had none)."""
    first = start_ms - start_ms % MINUTE_MS
    minutes = list(range(first, end_ms, MINUTE_MS))
    if len(minutes) < 2:
        return None
    series = [counts.get(m, 0) for m in minutes]
    n = sum(series)
    base = _ll(n, len(series))
    best: tuple[float, int] | None = None
    seen = 0
    for k in range(1, len(series)):
        seen += series[k - 1]
        before, after = seen / k, (n - seen) / (len(series) - k)
        if (before <= after) if direction == "down" else (after <= before):
            continue
        gain = _ll(seen, k) + _ll(n - seen, len(series) - k) - base
        if best is None or gain > best[0]:
            best = (gain, k)
    if best is None:
        return None
    gain, k = best
    seen = sum(series[:k])
    before, after = seen / k, (n - seen) / (len(series) - k)
    high, low = (before, after) if direction == "down" else (after, before)
    if 2 * gain < LR_MIN or high < DROP_RATIO_MIN * low:
        return None
    return Change(minutes[k], before, after, 2 * gain, seen, n - seen)


def signature_onset(evidence: EvidenceRepo, reason_code: str, dataset_urn: str, first_ms: int,
                    anchor_ms: int) -> tuple[Change, list[str]] | None:
    """Where a signature already seen at a background rate jumped into the breach that `anchor_ms` (the first
    breaching signal) reports: the change, and the ids of the first few evidence from it on (who broke it)."""
    start = max(first_ms, anchor_ms - LOOKBACK_MS)
    end = anchor_ms + 1
    rows = evidence.signature_times(reason_code, dataset_urn, start, end)
    times = [t for t, _ in rows]
    change = rate_jump(times, start, end)
    if change is None:
        return None
    k = bisect_left(times, change.at_ms)
    return change, [eid for _, eid in rows[k:k + SAMPLE]]


def per_minute(rate: float) -> str:
    """0.4667 -> '0.47', 143.2 -> '143' (records a minute, for reasons and statements)."""
    return f"{rate:.2g}" if rate < 10 else f"{rate:,.0f}"
