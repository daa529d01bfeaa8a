"""Evidence `urn:schema:evidence:2` (seed 1.3, Scenario 1 Step 2): the persisted result of the gates.

Field order follows the seed so encoded evidence reads like the seed's example. Optional parts
(`otel.span_id`, `lineage`, `payload`) are omitted when empty rather than written as null.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.model.stream import Chain, StreamFacet

EVIDENCE_SCHEMA = "urn:schema:evidence:2"

PASS = "PASS"
WARN = "WARN"
FAIL = "FAIL"
SKIP = "SKIP"

G1_RESOLUTION = "G1_RESOLUTION"
G2_IDENTITY = "G2_IDENTITY"
G3_SCHEMA = "G3_SCHEMA"
G4_CONTRACT = "G4_CONTRACT"
G5_PII = "G5_PII"
GATE_ORDER = (G1_RESOLUTION, G2_IDENTITY, G3_SCHEMA, G4_CONTRACT, G5_PII)

#: Dataset URN given to input that never resolved to a topic (unparseable lines).
UNRESOLVED_DATASET = "urn:dp:signal_factory:unresolved"


class GateResult(msgspec.Struct, omit_defaults=True):
    """What one gate concluded about one record."""

    gate: str
    result: str
    reason_code: str | None = None
    details: dict[str, Any] | None = None


class Producer(msgspec.Struct, omit_defaults=True):
    id: str
    confidence: str
    version: str | None = None
    run_id: str | None = None


class Validation(msgspec.Struct):
    result: str
    gates: list[GateResult]
    failed_gates: list[str]
    reason_codes: list[str]


class Source(msgspec.Struct, omit_defaults=True):
    """Where the record came from. `timestamp` is the record's own (event) time, ISO-8601 UTC."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_type: str | None = None
    timestamp: str | None = None
    origin: str | None = None
    input_dataset: str | None = None
    source_record_id: str | None = None


class Otel(msgspec.Struct, omit_defaults=True):
    trace_id: str | None = None
    span_id: str | None = None
    trace_flags: int | None = None


class Lineage(msgspec.Struct, omit_defaults=True):
    upstream_urns: list[str] | None = None
    job_urn: str | None = None
    dag_run_id: str | None = None
    spark_run_id: str | None = None
    upstream_dataset: str | None = None


class Evidence(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One record's evidence. Fields in the seed's order, so encoded JSON reads like the seed."""

    evidence_id: str
    timestamp: str
    dataset_urn: str
    producer: Producer | None = None
    validation: Validation
    source: Source | None = None
    otel: Otel | None = None
    lineage: Lineage | None = None
    payload: Any = None
    payload_ref: str | None = None
    #: Stream evidence (`urn:schema:stream-evidence:1`, seed 3.2 and 3.4, `model/stream.py`): which
    #: processor emitted it, and which records its record came from. None on evidence of the enforcer.
    stream: StreamFacet | None = None
    correlation_chain: Chain | None = None

    @property
    def result(self) -> str:
        return self.validation.result

    def event_time(self) -> str:
        """Event time for windowing: the record's own timestamp, else when it was processed."""
        if self.source is not None and self.source.timestamp:
            return self.source.timestamp
        return self.timestamp


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Evidence)


def encode_evidence(evidence: Evidence) -> bytes:
    """Evidence as compact JSON bytes (one line, no trailing newline)."""
    return _encoder.encode(evidence)


def encode_evidence_lines(batch: list[Evidence]) -> bytes:
    """A batch as JSON lines, newline-terminated, in one C call."""
    if not batch:
        return b""
    buf = bytearray()
    for ev in batch:
        _encoder.encode_into(ev, buf, -1)
        buf += b"\n"
    return bytes(buf)


def decode_evidence(data: bytes | str) -> Evidence:
    return _decoder.decode(data)


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """Plain dict in the seed's key order (for display and comparison)."""
    raw: dict[str, Any] = msgspec.to_builtins(evidence)
    return raw
