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
  same transaction as the signal), so it takes no incident number and a rerun repeats nothing; each
  notice is also kept under its own name (`alerting-notice-log:<dataset hash>:<window start>`), which
  `list_notices` reads for the API, the CLI and the UI.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import msgspec

from signal_factory.alerting.messages import NOTICE, NOTICE_UPDATE, notice_body
from signal_factory.alerting.policy import AlertPolicy
from signal_factory.model.incidents import Notice, NoticeSignature, Notification
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import Signal
from signal_factory.stores.ports import OutboxRepo

STATE_PREFIX = "alerting-notice:"
#: Every notice ever made, one blob each: `<LOG_PREFIX><dataset hash>:<window start, epoch ms, 15 digits>`.
LOG_PREFIX = "alerting-notice-log:"


class StateRepo(Protocol):
    """Named opaque blobs, written in the caller's transaction (the store's `CheckpointRepo` is one)."""

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, blob: bytes) -> None: ...


class StateReader(Protocol):
    """Named blobs by prefix (the store's `CheckpointRepo.states_named`)."""

    def states_named(self, prefix: str) -> list[tuple[str, bytes]]: ...


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
                self.state.save_state(_log_name(notice.dataset_urn, notice.window_start), msgspec.json.encode(notice))
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
        blob = msgspec.json.encode(notice)
        self.state.save_state(_name(notice.dataset_urn), blob)
        self.state.save_state(_log_name(notice.dataset_urn, notice.window_start), blob)
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
                body=notice_body(route.type, notice, event), created_at=at, dataset_urn=notice.dataset_urn))
            ids.append(notification_id)
            if route.name not in notice.routes:
                notice.routes.append(route.name)
        return ids


def list_notices(state: StateReader, *, dataset_urn: str | None = None, since_ms: int | None = None,
                 limit: int = 100) -> list[Notice]:
    """Notices, newest window first (then dataset); `dataset_urn` keeps one dataset's, `since_ms` those whose
    window ends after it (a window that holds the instant counts)."""
    prefix = LOG_PREFIX + (_digest(dataset_urn) + ":" if dataset_urn is not None else "")
    found = [_decoder.decode(blob) for _, blob in state.states_named(prefix)]
    if since_ms is not None:
        found = [n for n in found if (parse_iso_ms(n.window_end) or 0) > since_ms]
    found.sort(key=lambda n: (-(parse_iso_ms(n.window_start) or 0), n.dataset_urn))
    return found[:limit]


def notice_json(notice: Notice) -> dict[str, Any]:
    """A notice for people and programs (API, `notices list --json`): signatures as objects, with the total."""
    doc: dict[str, Any] = msgspec.to_builtins(notice)
    doc["signatures"] = [{"signature": s.signature, "count": s.count, "first_seen": s.first_seen,
                          "drift_type": s.drift_type} for s in notice.signatures]
    doc["total"] = notice.total
    return doc


def _digest(dataset_urn: str) -> str:
    return hashlib.sha256(dataset_urn.encode()).hexdigest()[:16]


def _name(dataset_urn: str) -> str:
    return STATE_PREFIX + _digest(dataset_urn)


def _log_name(dataset_urn: str, window_start: str) -> str:
    return f"{LOG_PREFIX}{_digest(dataset_urn)}:{parse_iso_ms(window_start) or 0:015d}"
