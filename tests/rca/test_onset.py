"""Breach onsets: the change point in a signature's arrivals and in a dataset's records per minute."""

from __future__ import annotations

import random

import pytest

from signal_factory.rca.onset import MINUTE_MS, level_shift, rate_jump

T0 = 1_705_302_000_000  # 2024-01-15T07:00:00Z


def _poisson(rng: random.Random, start: int, end: int, per_min: float) -> list[int]:
    out, t = [], float(start)
    while per_min > 0:
        t += rng.expovariate(per_min / MINUTE_MS)
        if t >= end:
            return out
        out.append(int(t))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_background_signature_that_jumps_has_its_onset_at_the_jump(seed: int) -> None:
    """0.5 a minute for 15 min, then 140 a minute: the onset is within seconds of the jump, not the first sighting."""
    rng = random.Random(seed)
    jump = T0 + 15 * MINUTE_MS
    times = _poisson(rng, T0, jump, 0.5) + _poisson(rng, jump, jump + 6 * MINUTE_MS, 140)
    change = rate_jump(times, times[0], jump + 6 * MINUTE_MS)
    assert change is not None
    assert jump <= change.at_ms < jump + 5_000
    assert change.after_per_min > 100
    assert change.before_per_min < 2


@pytest.mark.parametrize(("before", "after"), [(3.0, 3.0), (0.0, 140.0), (40.0, 140.0)])
def test_no_onset_without_a_background_that_jumped_tenfold(before: float, after: float) -> None:
    """A steady rate, a burst with nothing before it (the first failure is the onset) and a threefold rise: none."""
    rng = random.Random(7)
    jump = T0 + 10 * MINUTE_MS
    times = _poisson(rng, T0, jump, before) + _poisson(rng, jump, jump + 5 * MINUTE_MS, after)
    assert rate_jump(times, times[0], jump + 5 * MINUTE_MS) is None


def test_a_volume_drop_is_located_to_its_minute() -> None:
    """18 records a minute for an hour, then 2: the level shift is the minute of the drop; a steady level has none."""
    drop = T0 + 60 * MINUTE_MS
    counts = {T0 + m * MINUTE_MS: 18 if m < 60 else 2 for m in range(120)}
    change = level_shift(counts, T0, T0 + 120 * MINUTE_MS, "down")
    assert change is not None
    assert (change.at_ms, round(change.before_per_min), round(change.after_per_min)) == (drop, 18, 2)
    assert level_shift(counts, T0, T0 + 120 * MINUTE_MS, "up") is None
    steady = {T0 + m * MINUTE_MS: 18 for m in range(120)}
    assert level_shift(steady, T0, T0 + 120 * MINUTE_MS, "down") is None
