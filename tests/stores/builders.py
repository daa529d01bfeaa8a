"""Small builders for store tests: evidence, signals, incidents and notifications with defaults."""

from __future__ import annotations

from signal_factory.model.evidence import (
    FAIL,
    G3_SCHEMA,
    PASS,
    Evidence,
    GateResult,
    Lineage,
    Producer,
    Source,
    Validation,
)
from signal_factory.model.incidents import OPEN, Incident, Notification
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, Signal, SignalState

ORDERS = "urn:dp:orders:created"
PAYMENTS = "urn:dp:payments:settled"
T0 = 1705309200000  # 2024-01-15T09:00:00.000Z
MINUTE = 60_000


def evidence(evidence_id: str, *, at: int = T0, dataset: str = ORDERS, result: str = FAIL,
             reasons: tuple[str, ...] = ("MISSING_FIELD:customer_id",), run_id: str | None = None,
             spark_run_id: str | None = None, processed_at: int | None = None) -> Evidence:
    """Evidence whose event time (the record's own timestamp) is `at`; processed a second later."""
    gates = [GateResult(G3_SCHEMA, result, reasons[0] if reasons else None)]
    failed = [G3_SCHEMA] if result == FAIL else []
    return Evidence(
        evidence_id=evidence_id, timestamp=iso_ms(processed_at if processed_at is not None else at + 1000),
        dataset_urn=dataset, producer=Producer("orders-svc", "HIGH", "v3.17", run_id),
        validation=Validation(result, gates, failed, list(reasons if result != PASS else ())),
        source=Source(topic="raw.orders.events", partition=0, offset=1, timestamp=iso_ms(at)),
        lineage=Lineage(spark_run_id=spark_run_id) if spark_run_id else None,
        payload={"order_id": evidence_id})


def signal(signal_id: str, *, at: int = T0, dataset: str = ORDERS, signal_type: str = CONTRACT_BREACH,
           revision: int = 0, provisional: bool = False) -> Signal:
    return Signal(signal_id=signal_id, signal_type=signal_type, dataset_urn=dataset, state=CRITICAL,
                  timestamp=iso_ms(at), metrics={"failure_rate": 0.25}, evidence_refs=["ev-1"],
                  revision=revision, provisional=provisional)


def signal_state(dataset: str = ORDERS, state_key: str = "contract_compliance", *, state: str = CRITICAL,
                 at: int = T0) -> SignalState:
    return SignalState(dataset_urn=dataset, state_key=state_key, signal_type=CONTRACT_BREACH, state=state,
                       last_updated=iso_ms(at), evidence_sample=["ev-1"])


def incident(incident_id: str, *, at: int = T0, dataset: str = ORDERS, signature: str = "MISSING_FIELD:customer_id",
             status: str = OPEN) -> Incident:
    return Incident(incident_id=incident_id, severity="SEV-2", title=f"{signature} on {dataset}", status=status,
                    created_at=iso_ms(at), updated_at=iso_ms(at), dataset_urn=dataset, signal_id="sig-1",
                    signal_type=CONTRACT_BREACH, failure_signature=signature, signal_ids=["sig-1"])


def notification(notification_id: str, *, next_attempt_at: float = 0.0, incident_id: str = "INC-1") -> Notification:
    return Notification(notification_id=notification_id, channel="slack", target="orders-team",
                        incident_id=incident_id, event="trigger", dedup_key=incident_id,
                        body={"text": f"{incident_id} opened"}, next_attempt_at=next_attempt_at,
                        created_at=iso_ms(T0))
