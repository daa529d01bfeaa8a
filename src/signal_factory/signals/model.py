"""Signals `urn:schema:signal:1` (seed 4.1; batch form: Scenario 2 Step 6) and signal state (Step 4).

Signals are deterministic: the same evidence replayed gives byte-identical signals, ids included
(`signal_id` is derived from dataset, type, window and revision; timestamps are event time).
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.model.ids import keyed_ulid

SIGNAL_SCHEMA = "urn:schema:signal:1"

FRESHNESS_BREACH = "FRESHNESS_BREACH"
VOLUME_ANOMALY = "VOLUME_ANOMALY"
CONTRACT_BREACH = "CONTRACT_BREACH"
DQ_BREACH = "DQ_BREACH"
DRIFT_DETECTED = "DRIFT_DETECTED"
COST_ANOMALY = "COST_ANOMALY"
SIGNAL_TYPES = (FRESHNESS_BREACH, VOLUME_ANOMALY, CONTRACT_BREACH, DQ_BREACH, DRIFT_DETECTED, COST_ANOMALY)

OK = "OK"
WARNING = "WARNING"
CRITICAL = "CRITICAL"
UNKNOWN = "UNKNOWN"
STATES = (OK, WARNING, CRITICAL, UNKNOWN)

TUMBLING_5MIN = "TUMBLING_5MIN"
TUMBLING_1HR = "TUMBLING_1HR"
SLIDING_15MIN = "SLIDING_15MIN"
BATCH_RUN = "BATCH_RUN"
POINT = "POINT"  # a signal about an instant (drift first seen, freshness check)

#: Signal-state keys per engine, as in the seed's DynamoDB item (`SK: contract_compliance`).
STATE_KEYS = {
    CONTRACT_BREACH: "contract_compliance", FRESHNESS_BREACH: "freshness", VOLUME_ANOMALY: "volume",
    DQ_BREACH: "data_quality", DRIFT_DETECTED: "drift", COST_ANOMALY: "cost",
}


class Window(msgspec.Struct):
    start: str
    end: str
    type: str


class TopFailure(msgspec.Struct, omit_defaults=True):
    signature: str
    count: int
    first_seen: str | None = None
    producer: str | None = None
    producer_version: str | None = None
    is_new: bool | None = None


class Signal(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One engine verdict about one dataset over one window (or one batch run, or one instant).

    `provisional` marks an early-fired signal for a window that has not closed yet (revision 0; a
    window may fire a few, as its evidence worsens, each with its own id); the final signal for the
    same window follows at close with revision 1, and late corrections with revision + 1.
    """

    signal_id: str
    signal_type: str
    dataset_urn: str
    state: str
    window: Window | None = None
    timestamp: str
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    top_failures: list[TopFailure] = msgspec.field(default_factory=list)
    evidence_refs: list[str] = msgspec.field(default_factory=list)
    details: dict[str, Any] | None = None
    batch_context: dict[str, Any] | None = None
    provisional: bool = False
    revision: int = 0


class SignalState(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Current health per (dataset, engine): Scenario 1 Step 4's item."""

    dataset_urn: str
    state_key: str
    signal_type: str
    state: str
    score: float | None = None
    score_metric: str | None = None  # which of the signal's metrics `score` is (compliance_rate, lag_s, ...)
    breach_start: str | None = None
    last_updated: str
    window_end: str | None = None
    failure_signature: str | None = None
    top_producer: str | None = None
    top_producer_version: str | None = None
    evidence_sample: list[str] = msgspec.field(default_factory=list)
    last_signal_id: str | None = None
    ok_streak: int = 0


class BatchRunTotals(msgspec.Struct, omit_defaults=True, kw_only=True):
    """What a batch run reports (OpenLineage observability facet + run statistics): DQ and cost input.

    Fed by the OpenLineage ingest (issue 5); constructed directly in tests.
    """

    dataset_urn: str
    run_id: str
    job_name: str
    started_at: str
    ended_at: str
    records_processed: int | None = None
    records_passed: int | None = None
    records_failed: int | None = None
    failure_signatures: dict[str, int] = msgspec.field(default_factory=dict)
    output_rows: int | None = None
    duration_s: float | None = None
    cost_units: float | None = None  # e.g. DBU or vCPU-seconds, whatever the platform reports
    batch_context: dict[str, Any] = msgspec.field(default_factory=dict)
    upstream_dataset: str | None = None


class Assertion(msgspec.Struct, omit_defaults=True, frozen=True):
    """One data-quality assertion a run reported (OpenLineage `dataQualityAssertions`)."""

    assertion: str
    success: bool
    column: str | None = None
    severity: str | None = None  # `warn`/`warning`: a failure is a WARNING, anything else CRITICAL


class DatasetChecks(msgspec.Struct, omit_defaults=True, kw_only=True):
    """What a run's data-quality facets said about one dataset: assertions with their outcome and the
    measured metrics (OpenLineage `dataQualityMetrics`: rowCount, bytes, fileCount, columnMetrics)."""

    dataset_urn: str
    run_id: str
    job_name: str
    started_at: str
    ended_at: str
    assertions: list[Assertion] = msgspec.field(default_factory=list)
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    batch_context: dict[str, Any] = msgspec.field(default_factory=dict)


def deterministic_ulid(timestamp_ms: int, *key: object) -> str:
    """A ULID whose time part is `timestamp_ms` and whose random part is a hash of `key`."""
    return keyed_ulid(timestamp_ms, "|".join(map(str, key)).encode())


def signal_id_for(signal_type: str, dataset_urn: str, window_type: str, window_start: str, window_end_ms: int,
                  revision: int, sequence: int = 0) -> str:
    """Stable id: replaying the same evidence yields the same signal ids.

    `sequence` numbers the provisional signals of one window (revision 0): the first keeps the plain id.
    """
    if sequence:
        return "sig-" + deterministic_ulid(window_end_ms, signal_type, dataset_urn, window_type, window_start,
                                           revision, f"p{sequence}")
    return "sig-" + deterministic_ulid(window_end_ms, signal_type, dataset_urn, window_type, window_start, revision)


_enc = msgspec.json.Encoder()


def encode_signal(signal: Signal) -> bytes:
    return _enc.encode(signal)


def decode_signal(data: bytes | str) -> Signal:
    return msgspec.json.decode(data, type=Signal)
