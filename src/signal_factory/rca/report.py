"""The RCA report (Scenario 1 Step 6, Scenario 2 Step 8): facts first, prose last.

Every field is a fact found in the graph or the evidence store, or a number computed from them; the
explanation text is written from these facts (`rca/explain.py`) and never adds to them. Times are
ISO-8601 UTC strings, as elsewhere in the product. Encodes to JSON with msgspec and decodes back to
an equal report.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

DEPLOYMENT: Final = "DEPLOYMENT"
UPSTREAM_DRIFT: Final = "UPSTREAM_DRIFT"
UNKNOWN: Final = "UNKNOWN"
CauseKind = Literal["DEPLOYMENT", "UPSTREAM_DRIFT", "UNKNOWN"]

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"


class Header(msgspec.Struct, omit_defaults=True, kw_only=True):
    """What was asked: an incident (id, severity, status) or a failure-signature query."""

    subject: Literal["incident", "signature"]
    title: str
    incident_id: str | None = None
    severity: str | None = None
    status: str | None = None
    query: str | None = None
    dataset_urn: str | None = None
    failure_signature: str | None = None
    generated_at: str | None = None


class RootCause(msgspec.Struct, omit_defaults=True, kw_only=True):
    kind: CauseKind
    statement: str
    service: str | None = None
    version: str | None = None
    deployed_at: str | None = None
    commit: str | None = None
    inferred: bool = False
    reason_code: str | None = None
    dataset_urn: str | None = None
    first_failure: str | None = None
    seconds_to_first_failure: float | None = None
    #: When the breach began, if not at the first failure: a background signature's rate jump, a volume
    #: drop, the last record before a stall; with what happened there and its distance from the deployment.
    onset: str | None = None
    onset_note: str | None = None
    seconds_to_onset: float | None = None
    #: An incident keyed by its signal type (failures spread over many signatures): the signatures this
    #: cause explains, most failing records first.
    signatures: list[str] = msgspec.field(default_factory=list)


class Reason(msgspec.Struct, kw_only=True):
    """One confidence factor: its score in 0..1 (`value`), its `weight`, and `effect`, the points it
    adds to the final score (ceiling x weight x value), with `text` saying why."""

    factor: str
    value: float
    weight: float
    effect: float
    text: str


class Confidence(msgspec.Struct, kw_only=True):
    score: float
    level: str
    reasons: list[Reason] = msgspec.field(default_factory=list)
    ceiling: float = 1.0


class TimelineEntry(msgspec.Struct, kw_only=True):
    time: str
    actor: str
    event: str


class FlowHop(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One step of the data-flow line: a service, a dataset (or its topic) or a job run."""

    label: str
    kind: Literal["service", "dataset", "job"]
    ref: str | None = None
    note: str | None = None


class BlastItem(msgspec.Struct, kw_only=True):
    urn: str
    name: str
    tier: int | None = None
    type: str | None = None
    hops: int = 0
    via: str = "FEEDS"  # FEEDS, or WROTE_TO for a failing run's own output
    feed_type: str | None = None
    job: str | None = None
    impact: str | None = None
    status: str | None = None  # an Airflow DAG's last run state (FAILED, RUNNING, SUCCESS): rca/consumers.py


class AffectedRun(msgspec.Struct, omit_defaults=True, kw_only=True):
    run_id: str
    job: str | None = None
    dag_run_id: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    records_processed: int | None = None
    records_failed: int | None = None
    inputs: list[str] = msgspec.field(default_factory=list)
    outputs: list[str] = msgspec.field(default_factory=list)


class SpanFact(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An OTLP span kept by `/v1/traces` (`ingest/otlp/spans.py`): who ran what, how it went, how long."""

    trace_id: str
    span_id: str
    service: str
    operation: str
    status: str
    started_at: str
    duration_ms: float
    service_version: str | None = None
    status_message: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class EvidenceChain(msgspec.Struct, omit_defaults=True, kw_only=True):
    primary_evidence_id: str | None = None
    primary_trace_id: str | None = None
    producer: str | None = None
    producer_version: str | None = None
    identity_confidence: str | None = None
    total_events: int | None = None
    failed_events: int | None = None
    signature_count: int | None = None
    first_evidence_id: str | None = None
    first_failure: str | None = None
    realtime_warn_evidence_id: str | None = None
    realtime_warn_at: str | None = None
    batch_fail_evidence_id: str | None = None
    batch_fail_count: int | None = None
    run_ids: list[str] = msgspec.field(default_factory=list)
    dag_run_ids: list[str] = msgspec.field(default_factory=list)
    #: OTLP spans (`rca/traces.py`): the span that produced the primary evidence's record, and the
    #: producer's error spans near the first failure (and in that record's trace).
    producing_span: SpanFact | None = None
    error_spans: list[SpanFact] = msgspec.field(default_factory=list)


class StreamHop(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One step of a stream processor's failure back to its cause (`rca/stream.py`): the processor's evidence,
    the evidence it came from along its correlation chain, the source record's evidence, the producer's deploy."""

    role: Literal["processor", "source_record", "deployment"]
    label: str  # 'enrichment-stream/enrich', 'raw.orders.events[0]@1201', 'orders-svc v3.17'
    relation: str | None = None  # how the previous hop came from this one: DERIVED_FROM, AGGREGATED_WITH, CONSUMED
    evidence_id: str | None = None
    dataset_urn: str | None = None
    result: str | None = None
    reason_codes: list[str] = msgspec.field(default_factory=list)
    producer: str | None = None
    producer_version: str | None = None
    at: str | None = None  # the record's event time, or when the deploy happened


class Alternative(msgspec.Struct, kw_only=True):
    """A candidate cause that was weighed and lost, was ruled out (another service than the failing records'
    producer), or was excluded (deployed after the first failure), and why."""

    service: str
    version: str | None = None
    deployed_at: str | None = None
    score: float | None = None
    verdict: Literal["lost", "ruled_out", "excluded"] = "lost"
    why: str = ""


class ConcurrentSignature(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Another failure signature active at the same time; analysed on its own, only mentioned here."""

    reason_code: str
    dataset_urn: str
    count: int | None = None
    first_seen: str | None = None
    incident_ids: list[str] = msgspec.field(default_factory=list)


class IncidentSignature(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One signature of an incident keyed by its signal type: its failures in the incident's span, who
    produced them, and whether the root cause explains it."""

    reason_code: str
    count: int
    first_failure: str | None = None
    first_evidence_id: str | None = None
    producer: str | None = None
    producer_version: str | None = None
    explained: bool = False


class Timing(msgspec.Struct, kw_only=True):
    graph_ms: float
    total_ms: float
    graph_calls: int = 0
    llm_ms: float | None = None


class Explanation(msgspec.Struct, kw_only=True):
    text: str
    source: Literal["template", "llm"] = "template"
    model: str | None = None
    fallback_reason: str | None = None


class RCAReport(msgspec.Struct, omit_defaults=True, kw_only=True):
    header: Header
    root_cause: RootCause
    confidence: Confidence
    timeline: list[TimelineEntry] = msgspec.field(default_factory=list)
    data_flow: list[FlowHop] = msgspec.field(default_factory=list)
    blast_radius: list[BlastItem] = msgspec.field(default_factory=list)
    affected_runs: list[AffectedRun] = msgspec.field(default_factory=list)
    actions: list[str] = msgspec.field(default_factory=list)
    evidence: EvidenceChain = msgspec.field(default_factory=EvidenceChain)
    alternatives: list[Alternative] = msgspec.field(default_factory=list)
    concurrent_signatures: list[ConcurrentSignature] = msgspec.field(default_factory=list)
    #: Failures spread over many signatures: each of the incident's signatures (`rca/spread.py`).
    signatures: list[IncidentSignature] = msgspec.field(default_factory=list)
    #: A stream processor's failure: processor -> (upstream processors) -> source record -> producer deploy.
    stream_chain: list[StreamHop] = msgspec.field(default_factory=list)
    timing: Timing = msgspec.field(default_factory=lambda: Timing(graph_ms=0.0, total_ms=0.0))
    explanation: Explanation = msgspec.field(default_factory=lambda: Explanation(text=""))


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RCAReport)


def to_json(report: RCAReport) -> bytes:
    return _encoder.encode(report)


def from_json(data: bytes | str) -> RCAReport:
    return _decoder.decode(data)
