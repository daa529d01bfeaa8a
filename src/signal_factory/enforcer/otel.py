"""Trace context from record headers: W3C `traceparent` and the seed's `x-obs-trace-id`."""

from __future__ import annotations

import re
from typing import Any

from signal_factory.model.evidence import Otel

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32


def trace_context(headers: dict[str, str], metadata: Any) -> Otel | None:
    """Otel facet, or None. traceparent gives span and flags; x-obs-trace-id is the seed's header."""
    trace_id = span_id = None
    flags = None
    tp = headers.get("traceparent")
    if tp:
        m = _TRACEPARENT.match(tp.strip().lower())
        if m and m.group(2) != _ZERO_TRACE:
            trace_id, span_id, flags = m.group(2), m.group(3), int(m.group(4), 16)
    header = headers.get("x-obs-trace-id")
    if header:
        candidate = header.strip().lower().replace("-", "")
        if _TRACE_ID.match(candidate) and candidate != _ZERO_TRACE:
            trace_id = candidate
    if trace_id is None and isinstance(metadata, dict):
        corr = metadata.get("correlation_id")
        if isinstance(corr, str) and _TRACE_ID.match(corr.lower()):
            trace_id = corr.lower()
    if trace_id is None:
        return None
    return Otel(trace_id=trace_id, span_id=span_id, trace_flags=flags)
