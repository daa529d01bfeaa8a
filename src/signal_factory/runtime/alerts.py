"""`run alerts`: the notification dispatcher as a long-running process over the shared store.

The signals stage decides (incidents, and the notifications they need, written to the outbox in the
same transaction as the signal); this process delivers: it sends every due outbox row to PagerDuty,
Slack or a webhook with the retry policy of alerting.yaml (`OutboxDispatcher.run_once`), sleeping
until the next row is due or `interval_s` passes. One dispatcher is active per store (a PostgreSQL
advisory lock `signal-factory:alerts`, a flock next to a SQLite file); more instances wait as hot
standbys and take over within a second when the active one dies, so a page is never sent by two
processes at once. Receivers deduplicate by `dedup_key` (the incident id) for the one case left: a
crash after a receiver accepted a row and before the row was marked SENT.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from signal_factory.alerting.dispatcher import DispatchReport, OutboxDispatcher
from signal_factory.alerting.mutes import MuteBook
from signal_factory.alerting.policy import AlertPolicy
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.stores.sql.database import SqlStore
from signal_factory.stores.sql.locks import OwnerLock, OwnerLockLostError, owner_lock_for

log = logging.getLogger("signal_factory.runtime.alerts")
LOCK_NAME = "signal-factory:alerts"


@dataclass
class AlertsReport:
    rounds: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    pending: int = 0
    seconds: float = 0.0


class AlertsStage:
    """`run(stop)`: take the store's alerts lock (or wait for it), then dispatch until `stop` is set."""

    _active: OutboxDispatcher  # the dispatcher of the current policy, while running

    def __init__(self, store: SqlStore, policy: AlertPolicy, *, lock: OwnerLock | None = None,
                 interval_s: float = 1.0, dispatcher: OutboxDispatcher | None = None,
                 on_round: Callable[[DispatchReport], None] | None = None,
                 reloader: ConfigReloader[AlertPolicy] | None = None) -> None:
        self.store = store
        self.policy = policy
        #: With a reloader, a changed alerting.yaml is taken between rounds (a new dispatcher on its policy).
        self.reloader = reloader
        self._generation = reloader.current.generation if reloader is not None else 0
        self.lock = lock or owner_lock_for(store, LOCK_NAME)
        self.interval_s = interval_s
        self.dispatcher = dispatcher
        self.on_round = on_round
        self.report = AlertsReport()

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> AlertsReport:
        """Dispatch until `stop` (or, with `idle_exit_s`, until nothing was pending for that long)."""
        started = time.perf_counter()
        try:
            if not self._acquire(stop):
                return self.report
            self._active = self.dispatcher or self._new_dispatcher()
            try:
                self._loop(stop, idle_exit_s)
            finally:
                self._active.close()
        finally:
            self.lock.release()
            self.report.seconds = time.perf_counter() - started
        return self.report

    def _acquire(self, stop: threading.Event) -> bool:
        waiting = False
        while not stop.is_set():
            if self.lock.try_acquire():
                log.info("alerts lock acquired: dispatching")
                return True
            if not waiting:
                log.info("another dispatcher is active on this store; waiting as hot standby")
                waiting = True
            stop.wait(0.5)
        return False

    def _loop(self, stop: threading.Event, idle_exit_s: float | None) -> None:
        idle_since = time.monotonic()
        while not stop.is_set():
            if not self.lock.held():
                raise OwnerLockLostError("lost the alerts lock (its database session ended); exiting so a "
                                         "standby takes over")
            self._take_reload()
            round_ = self._active.run_once()
            self._account(round_)
            if round_.outcomes or round_.pending:
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                return
            wait = self.interval_s
            if round_.next_due_at is not None:
                wait = min(wait, max(0.0, round_.next_due_at - time.time()))
            stop.wait(wait)

    def _new_dispatcher(self) -> OutboxDispatcher:
        return OutboxDispatcher(self.store.outbox, self.policy, mutes=MuteBook(self.store.checkpoints))

    def _take_reload(self) -> None:
        """Between rounds: a reloaded policy gets a new dispatcher (rows in flight finished on the old one)."""
        if self.reloader is None or self.dispatcher is not None:
            return
        live = self.reloader.current
        if live.generation == self._generation:
            return
        self._generation, self.policy = live.generation, live.value
        self._active.close()
        self._active = self._new_dispatcher()
        log.info("alert policy generation taken", extra={"generation": live.generation})

    def _account(self, round_: DispatchReport) -> None:
        rep = self.report
        rep.rounds += 1
        rep.sent += round_.sent
        rep.retrying += round_.retrying
        rep.dead += round_.dead
        rep.pending = round_.pending
        if round_.outcomes:
            log.info("notifications dispatched", extra={"sent": round_.sent, "retrying": round_.retrying,
                                                        "dead": round_.dead, "pending": round_.pending})
        if self.on_round is not None:
            self.on_round(round_)
