"""Evidence <-> spans: the producer span that wrote a record, and the error spans of its trace.

By Kafka position first (topic, partition, offset: exact), else by trace id (the record's
`traceparent` / `x-obs-trace-id`), preferring a producer span on the record's own topic.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.ingest.otlp.repo import SpanRepo
from signal_factory.model.evidence import Evidence
from signal_factory.model.spans import PRODUCER, SpanRow


def producing_span(repo: SpanRepo, ev: Evidence) -> SpanRow | None:
    """The producer span of this evidence's record, or None."""
    src = ev.source
    topic = src.topic if src is not None else None
    if src is not None and topic and src.offset is not None:
        found = repo.by_position(topic, src.partition, src.offset)
        if found:
            return found[0]
    trace_id = ev.otel.trace_id if ev.otel is not None else None
    if not trace_id:
        return None
    producers = [r for r in repo.by_trace(trace_id) if r.role == PRODUCER]
    on_topic = [r for r in producers if topic is None or r.topic is None or r.topic == topic]
    return on_topic[0] if on_topic else None


def span_view(row: SpanRow) -> dict[str, Any]:
    """What the evidence page and the RCA show of a span: who, what, how it went, how long."""
    view: dict[str, Any] = msgspec.to_builtins(row)
    view["duration_ms"] = round(row.duration_ms, 3)
    return view


def trace_context(repo: SpanRepo, ev: Evidence) -> dict[str, Any]:
    """`{"producing_span": ..., "error_spans": [...]}` for one evidence; keys only for what was found."""
    out: dict[str, Any] = {}
    span = producing_span(repo, ev)
    if span is not None:
        out["producing_span"] = span_view(span)
    trace_id = span.trace_id if span is not None else (ev.otel.trace_id if ev.otel is not None else None)
    if trace_id:
        errors = [span_view(r) for r in repo.by_trace(trace_id) if r.status == "ERROR"
                  and (span is None or r.span_id != span.span_id)]
        if errors:
            out["error_spans"] = errors
    return out
