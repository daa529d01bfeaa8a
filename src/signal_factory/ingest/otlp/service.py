"""One OTLP trace export into the store: kept spans into `otel_spans`, service versions into the graph
(deployment hints), in one transaction. The answer counts what was seen, kept and rejected."""

from __future__ import annotations

from dataclasses import dataclass, field

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph.writer import GraphWriter
from signal_factory.ingest.otlp.decode import decode_request
from signal_factory.ingest.otlp.repo import span_repo
from signal_factory.ingest.otlp.spans import Extracted, extract
from signal_factory.stores.ports import Store


@dataclass
class TraceAnswer:
    spans: int
    kept: int
    rejected: int
    reason: str
    deployments: list[str] = field(default_factory=list)


def read_export(body: bytes, kind: str) -> Extracted:
    """Decode (`OtlpBodyError` if the body is not an export) and extract; pure, so it runs outside the
    API's writer lock."""
    return extract(decode_request(body, kind))


def ingest_traces(store: Store, cp: ControlPlane, body: bytes, kind: str) -> TraceAnswer:
    """`read_export` then `store_export`."""
    return store_export(store, cp, read_export(body, kind))


def store_export(store: Store, cp: ControlPlane, found: Extracted) -> TraceAnswer:
    """Kept spans and version hints into the store, in one transaction. Idempotent by span id."""
    with store.transaction():
        kept = span_repo(store).add_many(found.rows)
        deployments = GraphWriter(store.graph, cp).on_span_versions(found.versions)
    return TraceAnswer(spans=found.seen, kept=kept, rejected=found.rejected, reason=found.reason,
                       deployments=deployments)
