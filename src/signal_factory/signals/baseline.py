"""Robust baselines (median and MAD) for VOLUME_ANOMALY and COST_ANOMALY.

A value is anomalous when |value - median| > tolerance * sigma, where sigma = 1.4826 * MAD (the MAD
scaled to a normal standard deviation) with a floor of max(1, 5% of the median): a perfectly steady
history (MAD 0) must not alarm on a change of one record. Beyond the band the state is WARNING,
beyond twice the band CRITICAL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from signal_factory.signals.model import CRITICAL, OK, WARNING

MAD_TO_SIGMA = 1.4826
SIGMA_FLOOR_SHARE = 0.05


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


class Band(NamedTuple):
    median: float
    mad: float
    low: float
    high: float
    samples: int


def band(samples: Sequence[float], tolerance: float) -> Band:
    """The expected range [low, high] around the median of `samples` (non-empty)."""
    med = median(samples)
    mad = median([abs(x - med) for x in samples])
    sigma = max(MAD_TO_SIGMA * mad, SIGMA_FLOOR_SHARE * abs(med), 1.0)
    width = tolerance * sigma
    return Band(med, mad, max(0.0, med - width), med + width, len(samples))


def judge(value: float, b: Band) -> str:
    """OK inside the band, WARNING outside it, CRITICAL outside twice its width."""
    if b.low <= value <= b.high:
        return OK
    width = b.high - b.median
    return CRITICAL if abs(value - b.median) > 2 * width else WARNING
