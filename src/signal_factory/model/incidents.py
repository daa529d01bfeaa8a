"""Incidents (Scenario 1 Step 5), alert policy, and outbox notifications."""

from __future__ import annotations

from typing import Any

import msgspec

OPEN = "OPEN"
ACKNOWLEDGED = "ACKNOWLEDGED"
RESOLVED = "RESOLVED"

SEV1 = "SEV-1"
SEV2 = "SEV-2"
SEV3 = "SEV-3"
SEV4 = "SEV-4"
NONE = "NONE"


class SuspectedProducer(msgspec.Struct, omit_defaults=True):
    service: str
    version: str | None = None
    confidence: str | None = None


class Impact(msgspec.Struct, omit_defaults=True):
    tier: int
    classification: str | None = None
    downstream_consumers: list[str] = msgspec.field(default_factory=list)
    downstream_datasets: list[str] = msgspec.field(default_factory=list)


class EvidenceSummary(msgspec.Struct, omit_defaults=True):
    total_events: int
    failed_events: int
    failure_rate: str
    first_failure: str | None = None


class Notified(msgspec.Struct, omit_defaults=True):
    """The figures the routes last heard about (trigger or update), and the event time of that signal."""

    at: str
    failed_events: int = 0
    total_events: int = 0


class Activity(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One thing a person (or the engine) did to an incident: who, what, when (wall clock), and a note."""

    at: str
    actor: str
    action: str  # acknowledged | resolved | auto_resolved
    note: str | None = None


class Incident(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One open problem per (dataset, failure signature). Repeats update it; they never page again."""

    incident_id: str
    severity: str
    title: str
    status: str  # no default: omit_defaults would drop it from OPEN incidents
    created_at: str
    updated_at: str
    dataset_urn: str
    signal_id: str
    signal_type: str
    failure_signature: str
    suspected_producer: SuspectedProducer | None = None
    impact: Impact | None = None
    evidence_summary: EvidenceSummary | None = None
    primary_evidence_id: str | None = None
    primary_trace_id: str | None = None
    signal_ids: list[str] = msgspec.field(default_factory=list)
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    resolved_at: str | None = None
    resolution: str | None = None
    ok_streak: int = 0
    rca_link: str | None = None
    #: New failure signatures (drift) of the dataset while this incident is open: at most
    #: `drift.max_listed`, the rest counted in `new_signatures_overflow`.
    new_signatures: list[str] = msgspec.field(default_factory=list)
    new_signatures_overflow: int = 0
    notified: Notified | None = None
    resolved_by: str | None = None
    #: Who did what to it, oldest first: the named actors of the incident's own timeline.
    activity: list[Activity] = msgspec.field(default_factory=list)


class Notification(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An outbox row: what to send where. Sent at least once; receivers dedup by `dedup_key`."""

    notification_id: str
    channel: str  # pagerduty | slack | webhook
    target: str  # route name from alerting.yaml (never the URL or key itself)
    incident_id: str
    event: str  # trigger | acknowledge | resolve | update
    dedup_key: str
    body: dict[str, Any]
    status: str = "PENDING"  # PENDING | SENT | DEAD | MUTED
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    created_at: str = ""
    dataset_urn: str | None = None  # what it is about, so a mute can cover it at delivery time
    signature: str | None = None


class NoticeSignature(msgspec.Struct, array_like=True):
    signature: str
    count: int
    first_seen: str
    drift_type: str


class Notice(msgspec.Struct, omit_defaults=True, kw_only=True):
    """The drift notice of one dataset and group window."""

    notice_id: str
    dataset_urn: str
    severity: str
    window_start: str
    window_end: str
    link: str
    signatures: list[NoticeSignature] = msgspec.field(default_factory=list)
    overflow: int = 0  # new signatures not listed (past max_listed, or folded by the drift engine's cap)
    notified_total: int = 0  # signatures (listed + overflow) the routes have heard about
    notified_at: str | None = None
    routes: list[str] = msgspec.field(default_factory=list)  # the routes the notice was sent to

    @property
    def total(self) -> int:
        return len(self.signatures) + self.overflow
