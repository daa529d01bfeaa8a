"""Signals -> incidents -> outbox notifications. Pure over its repositories: no sockets, no files.

Behaviour (each promise has a test in tests/alerting/):

- Severity = `policy.severity_for(signal.state, dataset tier)`; only `policy.open_incidents_for`
  (default SEV-1, SEV-2) opens an incident. The paging gate: a CONTRACT_BREACH / DQ_BREACH signal with
  fewer than `paging.min_failing_records` FAIL records is at most SEV-3, whatever its state. A stream
  window's DQ_BREACH (aggregate contract rules, signals/quality_engine.py) in state WARNING - only rules the
  contract calls warnings breached - is at most SEV-3 too: a warning rule never pages on its own.
- DRIFT_DETECTED never opens an incident: it is listed on the dataset's open CONTRACT_BREACH/DQ_BREACH
  incident if there is one, else grouped into a drift notice (notices.py) that pages no one.
- One open (OPEN or ACKNOWLEDGED) incident per (dataset, failure signature); the signature is the top
  failure's when it holds `paging.dominant_share` of the failures, else the signal type (also for
  signals without failures: freshness, volume). At most `paging.max_signature_incidents` signature-keyed
  incidents per (dataset, signal type) are open; past that, new signatures go to the signal-type one.
  Repeats - the final signal after a provisional one, later windows, lower severities - update it
  (signal_ids, evidence summary of the latest window, earliest first_failure) and never page again.
- Escalation: if a repeat maps to a more severe level, the incident takes it and each route accepting
  the new level gets one notification: `update` if it already had the trigger (PagerDuty: a trigger
  with the same dedup_key, folded into the open alert), `trigger` if it newly qualifies. Severity
  never decreases while open.
- Current figures: a repeat whose figures moved materially (failure rate by `updates.min_rate_change`,
  or the failing count doubled) sends an `update` with them to the routes that had the trigger, at most
  one per `updates.throttle_s` of event time (`Incident.notified` holds what they last heard).
- Auto-resolve: final OK signals of the incident's (dataset, signal type) count up `ok_streak`; any
  other final signal of that pair resets it; at `auto_resolve_after_ok_windows` the incident resolves.
  Provisional signals never touch the streak, so a provisional OK never resolves anything.
- Lifecycle: OPEN -> ACKNOWLEDGED -> RESOLVED (or OPEN -> RESOLVED); anything else raises
  `IncidentTransitionError`. A resolved incident stays closed: the next failure opens a new one.
- Idempotent: a signal already applied (its id is in an incident's `signal_ids`, which lists every
  signal applied, OK ones included) changes nothing; notification ids are `ntf-<incident>-<event>-
  <route>-<severity>` (figure updates: `-<signal id>`), so a re-run enqueues nothing new. Run
  `on_signal` inside the store's transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from signal_factory.alerting import describe
from signal_factory.alerting.messages import ACKNOWLEDGE, RESOLVE, TRIGGER, UPDATE, body_for
from signal_factory.alerting.notices import NoticeBook, StateRepo
from signal_factory.alerting.policy import AlertPolicy, more_severe
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.errors import SignalFactoryError
from signal_factory.model.incidents import (
    ACKNOWLEDGED,
    OPEN,
    RESOLVED,
    SEV3,
    Activity,
    EvidenceSummary,
    Incident,
    Notification,
    Notified,
)
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import CONTRACT_BREACH, DQ_BREACH, DRIFT_DETECTED, OK, WARNING, Signal
from signal_factory.stores.ports import IncidentRepo, OutboxRepo

log = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
AUTO_RESOLVED = "auto_resolved"
SIGNAL_ENGINE = "signal-engine"  # the actor of automatic changes on an incident's activity
#: How many recent incidents of a dataset are searched to recognise a replayed signal.
REPLAY_LOOKBACK = 50
#: Signal types whose incidents say an SLO is at risk from failing records (drift attaches to them).
SLO_FAILURES = (CONTRACT_BREACH, DQ_BREACH)


class IncidentNotFoundError(SignalFactoryError):
    """No incident has that id."""


class IncidentTransitionError(SignalFactoryError):
    """The incident's status does not allow that move (e.g. acknowledging a resolved incident)."""


@dataclass(frozen=True)
class IncidentChange:
    """What happened to one incident, with the notifications it enqueued."""

    kind: str  # created | updated | auto_resolved
    incident: Incident
    notification_ids: tuple[str, ...] = ()
    previous_severity: str | None = None  # set when this change escalated the incident


class AlertingEngine:
    def __init__(self, cp: ControlPlane, policy: AlertPolicy, incidents: IncidentRepo, outbox: OutboxRepo,
                 clock: Callable[[], float] = time.time, notices: StateRepo | None = None) -> None:
        self.cp = cp
        self.policy = policy
        self.incidents = incidents
        self.outbox = outbox
        self.clock = clock  # only for human actions (acknowledge/resolve); signals carry event time
        #: Drift notices need a named-state store (the store's checkpoints); without one, drift that has
        #: no incident to attach to is left to the signal list (nothing is sent).
        self.notices = NoticeBook(policy, notices, outbox) if notices is not None else None

    # --- signals ----------------------------------------------------------------------------------------

    def on_signal(self, signal: Signal) -> list[IncidentChange]:
        """Apply one signal: create, update, escalate or auto-resolve incidents; enqueue notifications."""
        if signal.signal_type == DRIFT_DETECTED:
            return self._on_drift(signal)
        if signal.state == OK:
            return [] if signal.provisional else self._on_ok(signal)
        signature = self._key(signal)
        changes = self._reset_streaks(signal, signature)
        severity = self.severity(signal)
        incident = self.incidents.find_open(signal.dataset_urn, signature)
        if incident is not None:
            change = self._update(incident, signal, severity)
            return changes + ([change] if change else [])
        if not self.policy.opens_incident(severity) or self._already_applied(signal):
            return changes
        return [*changes, self._create(signal, signature, severity)]

    def severity(self, signal: Signal) -> str:
        """State x tier, then the paging gate: too few failing records are at most SEV-3 (no page)."""
        severity = self.policy.severity_for(signal.state, describe.tier_of(self.cp, signal.dataset_urn))
        if signal.signal_type in SLO_FAILURES and more_severe(severity, SEV3):
            failing = describe.failing_records(signal)
            if failing is not None and failing < self.policy.paging.min_failing_records:
                return SEV3
            if signal.state == WARNING and describe.is_window_quality(signal):
                return SEV3
        return severity

    def _key(self, signal: Signal) -> str:
        """The incident's failure signature: a dominant one while under the per-dataset cap, else the type."""
        signature = describe.failure_signature(signal, self.policy.paging.dominant_share)
        if signature == signal.signal_type or self.incidents.find_open(signal.dataset_urn, signature) is not None:
            return signature
        keyed = [i for i in self._open_of(signal) if i.failure_signature != signal.signal_type]
        return signature if len(keyed) < self.policy.paging.max_signature_incidents else signal.signal_type

    def _on_drift(self, signal: Signal) -> list[IncidentChange]:
        """List the new signature on the dataset's open SLO incident, else on its drift notice."""
        host = next((i for i in self._open_incidents(signal.dataset_urn) if i.signal_type in SLO_FAILURES), None)
        if host is None:
            if self.notices is not None:
                self.notices.add(signal)
            return []
        if signal.signal_id in host.signal_ids:
            return []
        overflow = (signal.details or {}).get("drift_type") == "SIGNATURE_OVERFLOW"
        updated = self._with_signatures(host, [] if overflow else [describe.failure_signature(signal)], int(overflow))
        updated = msgspec.structs.replace(updated, signal_ids=[*host.signal_ids, signal.signal_id])
        self.incidents.put(updated)
        return [IncidentChange(UPDATED, updated)]

    def _with_signatures(self, incident: Incident, signatures: list[str], overflow: int) -> Incident:
        listed = list(incident.new_signatures)
        extra = incident.new_signatures_overflow + overflow
        for sig in signatures:
            if sig in listed:
                continue
            if len(listed) < self.policy.drift.max_listed:
                listed.append(sig)
            else:
                extra += 1
        return msgspec.structs.replace(incident, new_signatures=listed, new_signatures_overflow=extra)

    def _create(self, signal: Signal, signature: str, severity: str) -> IncidentChange:
        incident_id = self.incidents.next_id()
        summary = describe.evidence_summary(signal)
        incident = Incident(
            incident_id=incident_id, severity=severity, title=describe.title(signal, signature), status=OPEN,
            created_at=signal.timestamp, updated_at=signal.timestamp, dataset_urn=signal.dataset_urn,
            signal_id=signal.signal_id, signal_type=signal.signal_type, failure_signature=signature,
            suspected_producer=describe.suspected_producer(signal), impact=describe.impact(self.cp, signal.dataset_urn),
            evidence_summary=summary,
            primary_evidence_id=signal.evidence_refs[0] if signal.evidence_refs else None,
            primary_trace_id=describe.primary_trace_id(signal), signal_ids=[signal.signal_id],
            rca_link=self.policy.rca_link(incident_id), notified=_notified(signal.timestamp, summary))
        notice = self.notices.current(signal.dataset_urn) if self.notices is not None else None
        if notice is not None and signal.signal_type in SLO_FAILURES and _ms(notice.window_end) \
                + self.policy.drift.group_window_s * 1000 > _ms(signal.timestamp):
            incident = self._with_signatures(incident, [s.signature for s in notice.signatures], notice.overflow)
        self.incidents.put(incident)
        ids = [self._enqueue(incident, route.name, route.type, TRIGGER) for route in self.policy.routes_for(severity)]
        log.info("incident %s opened (%s) for %s %s", incident_id, severity, signal.dataset_urn, signature)
        return IncidentChange(CREATED, incident, tuple(ids))

    def _update(self, incident: Incident, signal: Signal, severity: str) -> IncidentChange | None:
        if signal.signal_id in incident.signal_ids:
            return None
        summary = describe.evidence_summary(signal) or incident.evidence_summary
        if summary is not None and incident.evidence_summary is not None:
            firsts = [f for f in (incident.evidence_summary.first_failure, summary.first_failure) if f]
            summary = msgspec.structs.replace(summary, first_failure=min(firsts, key=_ms) if firsts else None)
        escalated = more_severe(severity, incident.severity)
        # The incident takes the name and type of the signal that now drives it: a drift warning that
        # opened it (before drift stopped opening incidents) gives way to the contract breach it turned into.
        adopt = escalated or (incident.signal_type == DRIFT_DETECTED and signal.signal_type != DRIFT_DETECTED)
        if adopt:
            incident = msgspec.structs.replace(incident, signal_type=signal.signal_type, signal_id=signal.signal_id,
                                               title=describe.title(signal, incident.failure_signature))
        updated = msgspec.structs.replace(
            incident, severity=severity if escalated else incident.severity,
            updated_at=_later(incident.updated_at, signal.timestamp),
            signal_ids=[*incident.signal_ids, signal.signal_id], evidence_summary=summary,
            ok_streak=incident.ok_streak if signal.provisional else 0,
            suspected_producer=incident.suspected_producer or describe.suspected_producer(signal),
            primary_evidence_id=incident.primary_evidence_id or next(iter(signal.evidence_refs), None),
            primary_trace_id=incident.primary_trace_id or describe.primary_trace_id(signal))
        if not escalated and not self._figures_due(incident.notified, summary, signal.timestamp):
            self.incidents.put(updated)
            return IncidentChange(UPDATED, updated)
        updated = msgspec.structs.replace(updated, notified=_notified(signal.timestamp, summary))
        self.incidents.put(updated)
        if not escalated:  # new figures for the routes that had the trigger; one row per signal
            ids = [self._enqueue(updated, route.name, route.type, UPDATE, step=signal.signal_id)
                   for route in self.policy.routes_for(updated.severity)]
            log.info("incident %s: figures updated (%s)", incident.incident_id,
                     summary.failure_rate if summary else "-")
            return IncidentChange(UPDATED, updated, tuple(ids))
        ids = [self._enqueue(updated, route.name, route.type, UPDATE if route.accepts(incident.severity) else TRIGGER,
                             previous_severity=incident.severity)
               for route in self.policy.routes_for(severity)]
        log.info("incident %s escalated %s -> %s", incident.incident_id, incident.severity, severity)
        return IncidentChange(UPDATED, updated, tuple(ids), previous_severity=incident.severity)

    def _figures_due(self, last: Notified | None, summary: EvidenceSummary | None, at: str) -> bool:
        """A material change since the figures the routes last heard, and the throttle interval passed."""
        if summary is None or last is None:
            return False
        if _ms(at) - _ms(last.at) < self.policy.updates.throttle_s * 1000:
            return False
        old = last.failed_events / last.total_events if last.total_events else 0.0
        new = describe.rate_of(summary) or 0.0
        return (abs(new - old) >= self.policy.updates.min_rate_change
                or summary.failed_events >= 2 * max(last.failed_events, 1))

    def _on_ok(self, signal: Signal) -> list[IncidentChange]:
        changes: list[IncidentChange] = []
        need = self.policy.auto_resolve_after_ok_windows
        for incident in self._open_of(signal):
            if signal.signal_id in incident.signal_ids:
                continue
            streak = incident.ok_streak + 1
            updated = msgspec.structs.replace(incident, ok_streak=streak,
                                              updated_at=_later(incident.updated_at, signal.timestamp),
                                              signal_ids=[*incident.signal_ids, signal.signal_id])
            if streak < need:
                self.incidents.put(updated)
                changes.append(IncidentChange(UPDATED, updated))
                continue
            why = f"auto-resolved after {need} consecutive OK {signal.signal_type} windows"
            updated = msgspec.structs.replace(
                updated, status=RESOLVED, resolved_at=signal.timestamp, resolved_by=SIGNAL_ENGINE, resolution=why,
                activity=[*updated.activity, Activity(at=signal.timestamp, actor=SIGNAL_ENGINE,
                                                      action="auto_resolved", note=why)])
            self.incidents.put(updated)
            ids = self._notify_all(updated, RESOLVE)
            log.info("incident %s auto-resolved after %d OK windows", incident.incident_id, need)
            changes.append(IncidentChange(AUTO_RESOLVED, updated, ids))
        return changes

    def _reset_streaks(self, signal: Signal, signature: str) -> list[IncidentChange]:
        """A final non-OK signal breaks every OK streak of its (dataset, signal type); its own incident's
        streak is reset by the update."""
        if signal.provisional:
            return []
        changes = []
        for incident in self._open_of(signal):
            if incident.ok_streak and incident.failure_signature != signature \
                    and signal.signal_id not in incident.signal_ids:
                updated = msgspec.structs.replace(incident, ok_streak=0)
                self.incidents.put(updated)
                changes.append(IncidentChange(UPDATED, updated))
        return changes

    def _open_of(self, signal: Signal) -> list[Incident]:
        return [i for i in self._open_incidents(signal.dataset_urn) if i.signal_type == signal.signal_type]

    def _open_incidents(self, dataset_urn: str) -> list[Incident]:
        """OPEN and ACKNOWLEDGED incidents of the dataset, oldest first."""
        found = [i for status in (OPEN, ACKNOWLEDGED)
                 for i in self.incidents.list(status=status, dataset_urn=dataset_urn, limit=1000)]
        return sorted(found, key=lambda i: (_ms(i.created_at), i.incident_id))

    def _already_applied(self, signal: Signal) -> bool:
        """A replayed signal whose incident has been resolved since must not open a new one."""
        recent = self.incidents.list(dataset_urn=signal.dataset_urn, limit=REPLAY_LOOKBACK)
        return any(signal.signal_id in i.signal_ids for i in recent)

    # --- people -----------------------------------------------------------------------------------------

    def acknowledge(self, incident_id: str, by: str, at: str | None = None) -> Incident:
        """OPEN -> ACKNOWLEDGED (at `at`, ISO; default now); tells every route that got the page."""
        incident = self._get(incident_id)
        if incident.status != OPEN:
            raise IncidentTransitionError(
                f"cannot acknowledge {incident_id}: it is {incident.status}, and only OPEN incidents can be "
                "acknowledged" + (" (a new failure opens a new incident)" if incident.status == RESOLVED else ""))
        when = at or self._now()
        done = Activity(at=when, actor=by, action="acknowledged")
        updated = msgspec.structs.replace(incident, status=ACKNOWLEDGED, acknowledged_at=when, acknowledged_by=by,
                                          updated_at=when, activity=[*incident.activity, done])
        self.incidents.put(updated)
        self._notify_all(updated, ACKNOWLEDGE)
        return updated

    def resolve(self, incident_id: str, by: str, note: str | None = None, at: str | None = None) -> Incident:
        """OPEN or ACKNOWLEDGED -> RESOLVED; `resolution` records who and why; tells every paged route."""
        incident = self._get(incident_id)
        if incident.status == RESOLVED:
            raise IncidentTransitionError(
                f"cannot resolve {incident_id}: it is already RESOLVED ({incident.resolution}); "
                "a new failure opens a new incident")
        when = at or self._now()
        updated = msgspec.structs.replace(incident, status=RESOLVED, resolved_at=when, updated_at=when, resolved_by=by,
                                          resolution=f"resolved by {by}" + (f": {note}" if note else ""),
                                          activity=[*incident.activity,
                                                    Activity(at=when, actor=by, action="resolved", note=note)])
        self.incidents.put(updated)
        self._notify_all(updated, RESOLVE)
        return updated

    def _get(self, incident_id: str) -> Incident:
        incident = self.incidents.get(incident_id)
        if incident is None:
            open_ids = [i.incident_id for i in self.incidents.list(status=OPEN, limit=10)]
            raise IncidentNotFoundError(f"no incident {incident_id!r}; open incidents: "
                                        + (", ".join(open_ids) or "none"))
        return incident

    def _now(self) -> str:
        return iso_ms(int(self.clock() * 1000))

    # --- outbox -----------------------------------------------------------------------------------------

    def _notify_all(self, incident: Incident, event: str) -> tuple[str, ...]:
        return tuple(self._enqueue(incident, r.name, r.type, event) for r in self.policy.routes_for(incident.severity))

    def _enqueue(self, incident: Incident, route: str, channel: str, event: str, *,
                 previous_severity: str | None = None, step: str | None = None) -> str:
        # One trigger/update per severity level (figure updates: per signal) and one acknowledge/resolve
        # per incident: a stable key.
        step = step or (incident.severity if event in (TRIGGER, UPDATE) else "1")
        notification_id = f"ntf-{incident.incident_id}-{event}-{route}-{step}"
        self.outbox.enqueue(Notification(
            notification_id=notification_id, channel=channel, target=route, incident_id=incident.incident_id,
            event=event, dedup_key=incident.incident_id,
            body=body_for(channel, incident, event, previous_severity=previous_severity),
            created_at=incident.updated_at, dataset_urn=incident.dataset_urn, signature=incident.failure_signature))
        return notification_id


def _notified(at: str, summary: EvidenceSummary | None) -> Notified:
    if summary is None:
        return Notified(at=at)
    return Notified(at=at, failed_events=summary.failed_events, total_events=summary.total_events)


def _ms(iso: str) -> int:
    return parse_iso_ms(iso) or 0


def _later(a: str, b: str) -> str:
    """`updated_at` never goes back (late signals, or a replay of old data after a human acknowledged)."""
    return b if _ms(b) >= _ms(a) else a
