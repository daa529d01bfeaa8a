"""Drift notices: a first-seen failure signature is news, not an emergency.

A DRIFT_DETECTED signal breaks no SLO on its own (one record in 40,000 can carry a new signature), so it
never opens an incident and never pages. When the dataset has an open CONTRACT_BREACH / DQ_BREACH
incident, the engine lists the signature on that incident instead; otherwise it lands here:

* new signatures of one dataset within one `drift.group_window` (5 min, tumbling, by event time) make ONE
  notice (`NTC-<hash>`), listing at most `drift.max_listed` (20) signatures with count and first sighting
  (the rest counted in `overflow`); a late signature joins the dataset's current notice;
* the first signature sends the notice (event `notice`) to every route with `notices` (Slack and webhooks
  by default; never PagerDuty); later ones send an update (`notice_update`) listing the whole group, at
  most one per `updates.throttle` (60 s) of event time; a group's unsent signatures go out when the next
  group starts;
* a notice is state, not an incident: one small blob per dataset in the store's named-state table (the
  same transaction as the signal), so it takes no incident number and a rerun repeats nothing.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import msgspec

from signal_factory.alerting.messages import NOTICE, NOTICE_UPDATE, notice_body
from signal_factory.alerting.model import Notification
from signal_factory.alerting.policy import AlertPolicy
from signal_factory.enforcer.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import Signal
from signal_factory.stores.ports import OutboxRepo

STATE_PREFIX = "alerting-notice:"


class StateRepo(Protocol):
    """Named opaque blobs, written in the caller's transaction (the store's `CheckpointRepo` is one)."""

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, blob: bytes) -> None: ...


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

    @property
    def total(self) -> int:
        return len(self.signatures) + self.overflow


_decoder = msgspec.json.Decoder(Notice)


class NoticeBook:
    """Groups drift signals into notices and enqueues their notifications (pure over its repositories)."""

    def __init__(self, policy: AlertPolicy, state: StateRepo, outbox: OutboxRepo) -> None:
        self.policy = policy
        self.state = state
        self.outbox = outbox

    def current(self, dataset_urn: str) -> Notice | None:
        blob = self.state.load_state(_name(dataset_urn))
        return _decoder.decode(blob) if blob else None

    def add(self, signal: Signal) -> tuple[Notice, tuple[str, ...]]:
        """Put the signal's signature on the dataset's notice; return the notice and the notifications sent."""
        at = parse_iso_ms(signal.timestamp) or 0
        window = int(self.policy.drift.group_window_s * 1000)
        start = at - at % window
        notice = self.current(signal.dataset_urn)
        sent: list[str] = []
        if notice is None or start > (parse_iso_ms(notice.window_start) or 0):
            if notice is not None and notice.total > notice.notified_total:  # the last group's unsent rest
                sent += self._send(notice, NOTICE_UPDATE, notice.window_end)
            notice = self._new(signal.dataset_urn, start, start + window)
        details = signal.details or {}
        signature = str(details.get("signature") or (signal.top_failures[0].signature if signal.top_failures
                                                     else "UNSPECIFIED"))
        if any(s.signature == signature for s in notice.signatures):
            return notice, ()  # already listed: a replayed signal
        if details.get("drift_type") == "SIGNATURE_OVERFLOW" or len(notice.signatures) >= self.policy.drift.max_listed:
            notice.overflow += 1
        else:
            count = int(signal.metrics.get("count", 1) or 1)
            notice.signatures.append(NoticeSignature(signature, count, signal.timestamp,
                                                     str(details.get("drift_type") or "NEW_FAILURE_SIGNATURE")))
        if notice.notified_at is None:
            sent += self._send(notice, NOTICE, signal.timestamp)
        elif at - (parse_iso_ms(notice.notified_at) or 0) >= self.policy.updates.throttle_s * 1000:
            sent += self._send(notice, NOTICE_UPDATE, signal.timestamp)
        self.state.save_state(_name(notice.dataset_urn), msgspec.json.encode(notice))
        return notice, tuple(sent)

    def _new(self, dataset_urn: str, start_ms: int, end_ms: int) -> Notice:
        digest = hashlib.sha256(f"{dataset_urn}\x1f{start_ms}".encode()).hexdigest()[:12]
        return Notice(notice_id=f"NTC-{digest}", dataset_urn=dataset_urn, severity=self.policy.drift.severity,
                      window_start=iso_ms(start_ms), window_end=iso_ms(end_ms),
                      link=self.policy.dataset_link(dataset_urn))

    def _send(self, notice: Notice, event: str, at: str) -> list[str]:
        notice.notified_total = notice.total
        notice.notified_at = at
        ids = []
        for route in self.policy.notice_routes():
            notification_id = f"ntf-{notice.notice_id}-{event}-{route.name}-{notice.total:06d}"
            self.outbox.enqueue(Notification(
                notification_id=notification_id, channel=route.type, target=route.name,
                incident_id=notice.notice_id, event=event, dedup_key=notice.notice_id,
                body=notice_body(route.type, notice, event), created_at=at))
            ids.append(notification_id)
        return ids


def _name(dataset_urn: str) -> str:
    return STATE_PREFIX + hashlib.sha256(dataset_urn.encode()).hexdigest()[:16]
