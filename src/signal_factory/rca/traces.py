"""What OTLP spans add to an RCA report's evidence chain (facts only; nothing here changes the cause).

* `producing_span` -- the producer span of the primary evidence's record (by Kafka position, else by
  trace id: `ingest/otlp/join.py`);
* `error_spans` -- spans with status ERROR of the producing service that started from `BEFORE_MS`
  before to `AFTER_MS` after the first failure, and those of the primary record's trace; earliest first,
  at most `MAX_ERROR_SPANS`.

Reads only (the span repository and the evidence store); a report without spans is returned unchanged.
"""

from __future__ import annotations

from signal_factory.ingest.otlp.join import producing_span
from signal_factory.ingest.otlp.repo import SpanRepo
from signal_factory.model.spans import SpanRow
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.rca.report import RCAReport, SpanFact
from signal_factory.stores.ports import EvidenceRepo

BEFORE_MS = 10 * 60_000
AFTER_MS = 2 * 60_000
MAX_ERROR_SPANS = 5


def span_fact(row: SpanRow) -> SpanFact:
    return SpanFact(trace_id=row.trace_id, span_id=row.span_id, service=row.service, operation=row.operation,
                    status=row.status, started_at=iso_ms(row.start_ms), duration_ms=round(row.duration_ms, 3),
                    service_version=row.service_version, status_message=row.status_message, topic=row.topic,
                    partition=row.partition, offset=row.offset)


def add_trace_facts(report: RCAReport, spans: SpanRepo, evidence: EvidenceRepo) -> RCAReport:
    """`report` with its evidence chain's span facts filled in (in place; also returned)."""
    chain = report.evidence
    primary = evidence.get(chain.primary_evidence_id) if chain.primary_evidence_id else None
    span = producing_span(spans, primary) if primary is not None else None
    if span is not None:
        chain.producing_span = span_fact(span)
    errors: dict[str, SpanRow] = {}
    trace_id = span.trace_id if span is not None else chain.primary_trace_id
    if trace_id:
        errors.update((r.span_id, r) for r in spans.by_trace(trace_id) if r.status == "ERROR")
    first_ms = parse_iso_ms(chain.first_failure) if chain.first_failure else None
    service = span.service if span is not None else chain.producer
    if service and first_ms is not None:
        near = spans.errors_near(service, first_ms - BEFORE_MS, first_ms + AFTER_MS, limit=MAX_ERROR_SPANS)
        errors.update((r.span_id, r) for r in near)
    chain.error_spans = [span_fact(r) for r in sorted(errors.values(), key=lambda r: (r.start_ms, r.span_id))
                         ][:MAX_ERROR_SPANS]
    return report
