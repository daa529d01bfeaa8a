"""Fast UTC ISO-8601 formatting for the hot path (one `datetime` per distinct second, not per record)."""

from __future__ import annotations

from datetime import UTC, datetime

_seconds: dict[int, str] = {}


def iso_ms(epoch_ms: int) -> str:
    """1705312682127 -> '2024-01-15T09:58:02.127Z'."""
    sec, milli = divmod(epoch_ms, 1000)
    prefix = _seconds.get(sec)
    if prefix is None:
        if len(_seconds) > 4096:
            _seconds.clear()
        prefix = _seconds[sec] = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{prefix}.{milli:03d}Z"


def parse_iso_ms(text: str) -> int | None:
    """ISO-8601 (with Z or offset; naive means UTC) -> epoch ms, or None if unparseable."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
