"""Stream evidence `urn:schema:stream-evidence:1` (seed 3.2, 3.4): evidence plus a `stream` facet and a
`correlation_chain`.

It is a superset of `urn:schema:evidence:2`: `StreamEvidence` subclasses `Evidence`, so the platform
stores it as is, and `decode_evidence` of its JSON ignores the extra fields.
"""

from __future__ import annotations

import msgspec

from signal_factory.model.evidence import Evidence

STREAM_EVIDENCE_SCHEMA = "urn:schema:stream-evidence:1"

DERIVED_FROM = "DERIVED_FROM"
AGGREGATED_WITH = "AGGREGATED_WITH"

TUMBLING = "TUMBLING"
HOPPING = "HOPPING"
SESSION = "SESSION"
NO_WINDOW = "NONE"


class Window(msgspec.Struct, omit_defaults=True, kw_only=True):
    """The event-time window the evidence belongs to; start and end are ISO-8601 UTC."""

    type: str = NO_WINDOW
    start: str | None = None
    end: str | None = None


class StreamFacet(msgspec.Struct, omit_defaults=True, kw_only=True):
    topology_id: str
    processor_node: str
    window: Window | None = None
    watermark: str | None = None
    processing_time: str | None = None
    processing_time_ms: int | None = None
    late_data: bool  # required, so it is always written (even when False)


class RecordRef(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Coordinates of a record a processor consumed (or produced), and its trace id if it carried one."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    trace_id: str | None = None


class CorrelationLink(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One causal step: this evidence's record was DERIVED_FROM / AGGREGATED_WITH another record,
    named by its evidence id or by its coordinates (or both)."""

    step: int
    relation: str
    evidence_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class StreamEvidence(Evidence, omit_defaults=True, kw_only=True):
    """Evidence emitted by a stream processor node."""

    schema: str = msgspec.field(default=STREAM_EVIDENCE_SCHEMA, name="$schema")
    stream: StreamFacet
    correlation_chain: list[CorrelationLink] = msgspec.field(default_factory=list)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StreamEvidence)


def encode_stream_evidence(evidence: StreamEvidence) -> bytes:
    """One compact JSON line (no newline). `$schema` is always written so readers can tell the kinds apart."""
    raw = msgspec.to_builtins(evidence)
    raw["$schema"] = STREAM_EVIDENCE_SCHEMA
    return _encoder.encode(raw)


def decode_stream_evidence(data: bytes | str) -> StreamEvidence:
    return _decoder.decode(data)
