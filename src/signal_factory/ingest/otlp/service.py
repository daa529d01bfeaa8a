"""One OTLP trace export into the store: kept spans into `otel_spans`, service versions into the graph
(deployment hints), in one transaction. The answer counts what was seen, kept and rejected."""

from __future__ import annotations

from dataclasses import dataclass, field

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph.writer import GraphWriter
from signal_factory.ingest.otlp.decode import decode_request
from signal_factory.ingest.otlp.repo import span_repo
from signal_factory.ingest.otlp.spans import extract
from signal_factory.stores.ports import Store


@dataclass
class TraceAnswer:
    spans: int
    kept: int
    rejected: int
    reason: str
    deployments: list[str] = field(default_factory=list)


def ingest_traces(store: Store, cp: ControlPlane, body: bytes, kind: str) -> TraceAnswer:
    """Decode (`OtlpBodyError` if the body is not an export), extract, store. Idempotent by span id."""
    found = extract(decode_request(body, kind))
    with store.transaction():
        kept = span_repo(store).add_many(found.rows)
        deployments = GraphWriter(store.graph, cp).on_span_versions(found.versions)
    return TraceAnswer(spans=found.seen, kept=kept, rejected=found.rejected, reason=found.reason,
                       deployments=deployments)
