"""Fast UTC ISO-8601 formatting for the hot path (one `datetime` per distinct second, not per record).

Every epoch-ms value that reaches evidence is in `MIN_EPOCH_MS..MAX_EPOCH_MS`: years 2-9998, what
`datetime` and ISO-8601 text can hold (years 1-9999) less a year on each side, so that windows,
look-backs and deadlines computed from an event time stay representable too (an event at
9999-12-31T23:59 would end its window in year 10000). `in_range` is the one check, `parse_iso_ms`
never returns a value outside it, and a producer timestamp outside it is `MALFORMED_RECORD:timestamp`.
"""

from __future__ import annotations

from datetime import UTC, datetime

MIN_EPOCH_MS = -62_104_060_800_000  # 0002-01-01T00:00:00.000Z
MAX_EPOCH_MS = 253_370_764_799_999  # 9998-12-31T23:59:59.999Z

_seconds: dict[int, str] = {}


def in_range(epoch_ms: int) -> bool:
    """True when `epoch_ms` may be an event time (years 2-9998 UTC)."""
    return MIN_EPOCH_MS <= epoch_ms <= MAX_EPOCH_MS


def iso_ms(epoch_ms: int) -> str:
    """1705312682127 -> '2024-01-15T09:58:02.127Z'. `epoch_ms` must be `in_range`."""
    sec, milli = divmod(epoch_ms, 1000)
    prefix = _seconds.get(sec)
    if prefix is None:
        if len(_seconds) > 4096:
            _seconds.clear()
        prefix = _seconds[sec] = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{prefix}.{milli:03d}Z"


def parse_iso_ms(text: str) -> int | None:
    """ISO-8601 (with Z or offset; naive means UTC) -> epoch ms, or None if unparseable or its UTC
    instant is not `in_range` (`0001-01-01T00:00:00+14:00` is year 0 in UTC)."""
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ms = int(dt.timestamp() * 1000)
    except (ValueError, OverflowError):
        return None
    return ms if in_range(ms) else None


def iso_out_of_range(text: str) -> bool:
    """True when `text` is ISO-8601 that `parse_iso_ms` refused only for its range (not its grammar)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return parse_iso_ms(text) is None


def epoch_ms_of(value: object) -> int | None:
    """A producer's timestamp (epoch ms as int/float, or ISO-8601 text) -> epoch ms, or None when it is
    not one or is out of range (NaN, inf, 1e300, year 10000, a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if in_range(value) else None
    if isinstance(value, float):
        if not MIN_EPOCH_MS <= value <= MAX_EPOCH_MS:  # also False for NaN
            return None
        return int(value)
    if isinstance(value, str):
        return parse_iso_ms(value)
    return None
