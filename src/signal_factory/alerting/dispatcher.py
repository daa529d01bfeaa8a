"""Deliver the outbox: at least once, in order per (route, incident), with backoff; nothing is lost.

A row stays PENDING until a receiver answers 2xx (SENT). Retryable failures (429, 5xx, connection
errors, timeouts) reschedule it at `now + backoff(attempts)` (exponential, capped, jittered; a longer
`Retry-After` wins); after `retry.max_attempts` it is DEAD. Other 4xx answers are DEAD at once, with the
reason logged (never the URL or key). A route whose secret is unset keeps its rows PENDING without
spending attempts. Rows of one (route, incident) go out in event order - trigger (or notice), updates, acknowledge,
resolve - so a resolve never overtakes the trigger it closes while that trigger is being retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from signal_factory.alerting.messages import ACKNOWLEDGE, NOTICE, NOTICE_UPDATE, RESOLVE, TRIGGER, UPDATE
from signal_factory.alerting.mutes import MuteBook
from signal_factory.alerting.notify import DEAD, RETRY, SENT, UNCONFIGURED, HttpSender, SendResult
from signal_factory.alerting.policy import AlertPolicy
from signal_factory.model.incidents import Notification
from signal_factory.stores.ports import OutboxRepo

log = logging.getLogger(__name__)

_ORDER = {TRIGGER: 0, NOTICE: 0, UPDATE: 1, NOTICE_UPDATE: 1, ACKNOWLEDGE: 2, RESOLVE: 3}
PENDING_SCAN = 10_000


HELD = "HELD"
MUTED = "MUTED"


@dataclass
class DispatchReport:
    """What one `run_once` (or a whole `drain`) did: counts, and the last outcome of every row touched."""

    outcomes: dict[str, str] = field(default_factory=dict)  # notification_id -> SENT|RETRY|DEAD|HELD|MUTED
    pending: int = 0  # PENDING rows left after the run
    next_due_at: float | None = None  # when the next row can go (None: nothing pending)

    def _count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    @property
    def sent(self) -> int:
        return self._count(SENT)

    @property
    def retrying(self) -> int:
        return self._count(RETRY)

    @property
    def dead(self) -> int:
        return self._count(DEAD)

    @property
    def held(self) -> int:
        """Due, but waiting behind an earlier row of the same (route, incident) or for a missing secret."""
        return self._count(HELD)

    @property
    def muted(self) -> int:
        """Due, but covered by a mute: marked MUTED, not sent."""
        return self._count(MUTED)

    def merge(self, other: DispatchReport) -> None:
        self.outcomes.update(other.outcomes)
        self.pending = other.pending
        self.next_due_at = other.next_due_at


class OutboxDispatcher:
    def __init__(self, outbox: OutboxRepo, policy: AlertPolicy, client: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random, batch: int = 100, mutes: MuteBook | None = None) -> None:
        self.outbox = outbox
        self.mutes = mutes  # None: nothing is muted (the caller has no store to read mutes from)
        self.policy = policy
        self.sender = HttpSender(client)
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.batch = batch

    def close(self) -> None:
        self.sender.close()

    def __enter__(self) -> OutboxDispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_once(self, now: float | None = None) -> DispatchReport:
        """Try every due row once (in order per route and incident); return what happened."""
        now = self.clock() if now is None else now
        report = DispatchReport()
        queues = _queues(self.outbox.list(status="PENDING", limit=PENDING_SCAN))
        due: dict[tuple[str, str], dict[str, Notification]] = {}
        for n in self.outbox.due(now, limit=self.batch):
            due.setdefault((n.target, n.incident_id), {})[n.notification_id] = n
        for key, rows in due.items():
            queue = queues.get(key) or list(rows.values())
            while queue and queue[0].notification_id in rows:  # the head is due: send it, then maybe the next
                n = rows.pop(queue.pop(0).notification_id)
                outcome = self._deliver(n, now)
                report.outcomes[n.notification_id] = HELD if outcome == UNCONFIGURED else outcome
                if outcome not in (SENT, DEAD, MUTED):
                    break
            for notification_id in rows:  # due, but behind a row of the same (route, incident) still pending
                report.outcomes[notification_id] = HELD
        queues = _queues(self.outbox.list(status="PENDING", limit=PENDING_SCAN))
        report.pending = sum(len(q) for q in queues.values())
        report.next_due_at = min((q[0].next_attempt_at for q in queues.values()), default=None)
        return report

    def drain(self, timeout_s: float) -> DispatchReport:
        """Run until nothing is PENDING or `timeout_s` passes, sleeping until the next row is due."""
        deadline = self.clock() + timeout_s
        total = DispatchReport()
        while True:
            total.merge(self.run_once())
            now = self.clock()
            if total.pending == 0 or total.next_due_at is None or now >= deadline:
                return total
            self.sleep(max(0.0, min(total.next_due_at, deadline) - now))

    # --- internals --------------------------------------------------------------------------------------

    def _deliver(self, n: Notification, now: float) -> str:
        mute = self.mutes.covering(n.dataset_urn, n.signature, int(now * 1000)) if self.mutes is not None else None
        if mute is not None:
            why = f"muted by {mute.mute_id} ({mute.kind} {mute.target}) until {mute.until}: {mute.reason}"
            self.outbox.mark_muted(n.notification_id, why)
            log.info("notification %s (%s %s) not sent: %s", n.notification_id, n.event, n.incident_id, why)
            return MUTED
        route = self.policy.route(n.target)
        attempts = n.attempts + 1
        if route is None:
            reason = f"route {n.target!r} is no longer configured in alerting.yaml"
            self.outbox.mark_failed(n.notification_id, attempts, now, reason, dead=True)
            log.error("notification %s dead: %s", n.notification_id, reason)
            return DEAD
        result: SendResult = self.sender.send(n, route)
        if result.outcome == SENT:
            self.outbox.mark_sent(n.notification_id, attempts)
            log.info("notification %s (%s %s) sent to route %s", n.notification_id, n.event, n.incident_id,
                     route.name)
            return SENT
        if result.outcome == UNCONFIGURED:
            self.outbox.mark_failed(n.notification_id, n.attempts, now + self.policy.retry.max_backoff_s,
                                    result.detail)
            log.warning("notification %s held: %s", n.notification_id, result.detail)
            return UNCONFIGURED
        if result.outcome == DEAD or attempts >= self.policy.retry.max_attempts:
            why = result.detail if result.outcome == DEAD else f"gave up after {attempts} attempts: {result.detail}"
            self.outbox.mark_failed(n.notification_id, attempts, now, why, dead=True)
            log.error("notification %s to route %s dead: %s", n.notification_id, route.name, why)
            return DEAD
        delay = self.policy.retry.backoff(attempts, self.rng)
        if result.retry_after_s is not None:
            delay = max(delay, min(result.retry_after_s, self.policy.retry.max_backoff_s))
        self.outbox.mark_failed(n.notification_id, attempts, now + delay, result.detail)
        log.warning("notification %s to route %s failed (attempt %d of %d): %s; retrying in %.2fs",
                    n.notification_id, route.name, attempts, self.policy.retry.max_attempts, result.detail, delay)
        return RETRY


def _queues(pending: list[Notification]) -> dict[tuple[str, str], list[Notification]]:
    """PENDING rows per (route, incident), in event order: trigger, update(s), acknowledge, resolve."""
    queues: dict[tuple[str, str], list[Notification]] = {}
    for n in pending:
        queues.setdefault((n.target, n.incident_id), []).append(n)
    for queue in queues.values():
        queue.sort(key=lambda n: (_ORDER.get(n.event, 9), n.created_at, n.notification_id))
    return queues
