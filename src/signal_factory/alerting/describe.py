"""What an incident says about a signal: title, failure signature, suspected producer, evidence summary,
impact and the one-line suspected cause (Scenario 1 Step 5). Pure functions of signal + control plane.
"""

from __future__ import annotations

from datetime import UTC, datetime

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.incidents import EvidenceSummary, Impact, Incident, SuspectedProducer
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.model import (
    BATCH_RUN,
    CONTRACT_BREACH,
    COST_ANOMALY,
    DQ_BREACH,
    DRIFT_DETECTED,
    FRESHNESS_BREACH,
    VOLUME_ANOMALY,
    Signal,
)

#: Signals about datasets missing from the control plane are judged as best-effort (tier 3).
UNKNOWN_DATASET_TIER = 3

LABELS = {
    CONTRACT_BREACH: "Contract Violation", DQ_BREACH: "Data Quality Breach", FRESHNESS_BREACH: "Freshness Breach",
    VOLUME_ANOMALY: "Volume Anomaly", DRIFT_DETECTED: "Drift Detected", COST_ANOMALY: "Cost Anomaly",
}


def short_name(dataset_urn: str) -> str:
    """`urn:dp:orders:created` -> `orders:created`."""
    return dataset_urn.removeprefix("urn:dp:")


def failure_signature(signal: Signal, dominant_share: float = 0.0) -> str:
    """The dedup key's second half: the top failure's signature if it holds at least `dominant_share` of
    the signal's failures, else the signal type (freshness, volume, or failures spread over many codes)."""
    if not signal.top_failures:
        return signal.signal_type
    top = signal.top_failures[0]
    failing = failing_records(signal)
    if dominant_share > 0 and failing and top.count < dominant_share * failing:
        return signal.signal_type
    return top.signature


def is_window_quality(signal: Signal) -> bool:
    """A DQ_BREACH about a stream window's aggregate contract rules (not a batch run's)."""
    return signal.signal_type == DQ_BREACH and signal.window is not None and signal.window.type != BATCH_RUN


def failing_records(signal: Signal) -> int | None:
    """FAIL records behind a CONTRACT_BREACH signal (a WARN is a rule the contract itself calls a warning)
    or failed records of a DQ_BREACH run; None if the signal does not count them."""
    key = "records_failed" if signal.signal_type == DQ_BREACH else "fail_count"
    value = signal.metrics.get(key)
    return int(value) if isinstance(value, int | float) else None


def title(signal: Signal, signature: str | None = None) -> str:
    """`Contract Violation - orders:created - MISSING_FIELD:customer_id`; `Freshness Breach - orders:bronze`."""
    label = LABELS.get(signal.signal_type, signal.signal_type.replace("_", " ").title())
    signature = signature or failure_signature(signal)
    parts = [label, short_name(signal.dataset_urn)]
    if signature != signal.signal_type:
        parts.append(signature)
    return " - ".join(parts)


def tier_of(cp: ControlPlane, dataset_urn: str) -> int:
    ds = cp.datasets.get(dataset_urn)
    return ds.tier if ds else UNKNOWN_DATASET_TIER


def impact(cp: ControlPlane, dataset_urn: str) -> Impact:
    """Tier, classification, consumers and FEEDS targets of the dataset, as declared in datasets.yaml."""
    ds = cp.datasets.get(dataset_urn)
    if ds is None:
        return Impact(tier=UNKNOWN_DATASET_TIER)
    return Impact(tier=ds.tier, classification=ds.classification, downstream_consumers=list(ds.consumers),
                  downstream_datasets=cp.downstream(dataset_urn))


def suspected_producer(signal: Signal) -> SuspectedProducer | None:
    """From the top failure's producer/version. Signals carry no attribution confidence, so it is HIGH
    when a producer is named (G2 found it), unless the signal's `details.producer_confidence` says otherwise.
    """
    if not signal.top_failures:
        return None
    top = signal.top_failures[0]
    if not top.producer or top.producer.upper() == "UNKNOWN":
        return None
    confidence = (signal.details or {}).get("producer_confidence") or "HIGH"
    return SuspectedProducer(service=top.producer, version=top.producer_version, confidence=str(confidence))


def evidence_summary(signal: Signal) -> EvidenceSummary | None:
    """Totals of the signal's window (or batch run): FAIL records of all, and `failure_rate` as a
    percentage with one decimal ("89.8%")."""
    batch = signal.signal_type == DQ_BREACH
    total = signal.metrics.get("records_processed" if batch else "evidence_count")
    failed = signal.metrics.get("records_failed" if batch else "fail_count")
    if not isinstance(total, int | float) or not isinstance(failed, int | float):
        return None
    total, failed = int(total), int(failed)
    rate = f"{failed / total * 100:.1f}%" if total else "0.0%"
    first = signal.top_failures[0].first_seen if signal.top_failures else None
    return EvidenceSummary(total_events=total, failed_events=failed, failure_rate=rate, first_failure=first)


def primary_trace_id(signal: Signal) -> str | None:
    value = (signal.details or {}).get("primary_trace_id")
    return str(value) if value else None


def clock_time(iso: str | None) -> str | None:
    """'2024-01-15T09:58:02.312Z' -> '09:58 AM' (UTC, as the seed writes it)."""
    ms = parse_iso_ms(iso) if iso else None
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%I:%M %p")


def suspected_cause(incident: Incident) -> str | None:
    """`orders-svc v3.17 deployment at 09:58 AM`: the suspected producer's version, dated by the first failure."""
    first = incident.evidence_summary.first_failure if incident.evidence_summary else None
    at = clock_time(first)
    producer = incident.suspected_producer
    if producer is None:
        return f"unknown producer; first failure at {at}" if at else None
    who = f"{producer.service} {producer.version}" if producer.version else producer.service
    return f"{who} deployment at {at}" if at else f"{who} deployment"


def rate_of(summary: EvidenceSummary | None) -> float | None:
    """The failure rate of a summary as a fraction (None without events)."""
    if summary is None or not summary.total_events:
        return None
    return summary.failed_events / summary.total_events


def summary_line(incident: Incident) -> str:
    """PagerDuty's summary: `[SEV-1] Contract Violation - orders:created - 89.8% failure rate`."""
    label = LABELS.get(incident.signal_type, incident.signal_type.replace("_", " ").title())
    if incident.evidence_summary is not None and incident.evidence_summary.failed_events:
        return (f"[{incident.severity}] {label} - {short_name(incident.dataset_urn)} - "
                f"{incident.evidence_summary.failure_rate} failure rate")
    return f"[{incident.severity}] {incident.title}"
