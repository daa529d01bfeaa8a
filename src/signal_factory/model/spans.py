"""A kept OTLP span (the OTLP inflow writes it, the span store and the RCA read it): a model type, so the
store depends on the model rather than on the OTLP adapter."""

from __future__ import annotations

import msgspec

PRODUCER = "producer"
ERROR = "error"


class SpanRow(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One kept span: who produced what, how it went. Times in epoch ms (start) and ms (duration)."""

    trace_id: str
    span_id: str
    role: str  # PRODUCER or ERROR (a failing producer span is a producer span with status ERROR)
    service: str
    operation: str
    kind: str
    status: str
    start_ms: int
    duration_ms: float
    service_version: str | None = None
    parent_span_id: str | None = None
    status_message: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    message_id: str | None = None
