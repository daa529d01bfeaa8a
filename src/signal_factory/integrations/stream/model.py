"""Stream evidence `urn:schema:stream-evidence:1` (seed 3.2, 3.4): evidence plus a `stream` facet and a
`correlation_chain`.

The facet and chain types are the core model's (`model/stream.py`): `Evidence` has both as optional fields,
so the platform stores stream evidence whole, and `decode_evidence` of its JSON keeps them. `StreamEvidence`
is the SDK's narrower view: the facet is required and the chain is our list of links.
"""

from __future__ import annotations

import msgspec

from signal_factory.model.evidence import Evidence
from signal_factory.model.stream import (
    AGGREGATED_WITH,
    DERIVED_FROM,
    HOPPING,
    NO_WINDOW,
    SESSION,
    TUMBLING,
    CorrelationLink,
    StreamFacet,
    Window,
)

__all__ = ["AGGREGATED_WITH", "DERIVED_FROM", "HOPPING", "NO_WINDOW", "SESSION", "STREAM_EVIDENCE_SCHEMA", "TUMBLING",
           "CorrelationLink", "RecordRef", "StreamEvidence", "StreamFacet", "Window", "decode_stream_evidence",
           "encode_stream_evidence"]

STREAM_EVIDENCE_SCHEMA = "urn:schema:stream-evidence:1"


class RecordRef(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Coordinates of a record a processor consumed (or produced), and its trace id if it carried one."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    trace_id: str | None = None


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
