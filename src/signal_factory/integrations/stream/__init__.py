"""Stream evidence SDK (seed section 3): emit `urn:schema:stream-evidence:1` from a stream processor."""

from signal_factory.integrations.stream.emitter import EvidenceEmitter, record_ref
from signal_factory.integrations.stream.model import (
    AGGREGATED_WITH,
    DERIVED_FROM,
    STREAM_EVIDENCE_SCHEMA,
    CorrelationLink,
    RecordRef,
    StreamEvidence,
    StreamFacet,
    Window,
    decode_stream_evidence,
    encode_stream_evidence,
)
from signal_factory.integrations.stream.sinks import (
    EvidenceSink,
    EvidenceSinkError,
    HttpSink,
    JsonLinesSink,
    KafkaSink,
    ListSink,
)

__all__ = [
    "AGGREGATED_WITH", "DERIVED_FROM", "STREAM_EVIDENCE_SCHEMA", "CorrelationLink", "EvidenceEmitter",
    "EvidenceSink", "EvidenceSinkError", "HttpSink", "JsonLinesSink", "KafkaSink", "ListSink", "RecordRef",
    "StreamEvidence", "StreamFacet", "Window", "decode_stream_evidence", "encode_stream_evidence", "record_ref",
]
