"""OutboxRepo: idempotent enqueue, due notifications in order, retries, sent and dead letters."""

from __future__ import annotations

from typing import Any

from tests.stores.builders import notification


def test_enqueue_is_idempotent(store: Any) -> None:
    """Enqueueing the same notification id twice keeps one row, the first."""
    store.outbox.enqueue(notification("n-1"))
    store.outbox.enqueue(notification("n-1", incident_id="INC-9"))
    assert store.outbox.list() == [notification("n-1")]


def test_due_returns_pending_whose_time_has_come_oldest_first(store: Any) -> None:
    """Due means PENDING and next_attempt_at <= now, by next attempt time then enqueue order."""
    store.outbox.enqueue(notification("n-later", next_attempt_at=200.0))
    store.outbox.enqueue(notification("n-b", next_attempt_at=100.0))
    store.outbox.enqueue(notification("n-a", next_attempt_at=100.0))
    store.outbox.enqueue(notification("n-first", next_attempt_at=50.0))
    assert [n.notification_id for n in store.outbox.due(100.0)] == ["n-first", "n-b", "n-a"]
    assert [n.notification_id for n in store.outbox.due(100.0, limit=1)] == ["n-first"]
    assert store.outbox.due(10.0) == []


def test_mark_failed_reschedules_and_mark_sent_retires(store: Any) -> None:
    """A failed send is retried at its new time with the error kept; a sent one is never due again."""
    store.outbox.enqueue(notification("n-1"))
    store.outbox.enqueue(notification("n-2"))
    store.outbox.mark_failed("n-1", 1, 160.0, "HTTP 503 from slack")
    store.outbox.mark_sent("n-2", 1)
    assert store.outbox.due(100.0) == []
    (retry,) = store.outbox.due(160.0)
    assert (retry.notification_id, retry.attempts, retry.next_attempt_at, retry.last_error, retry.status) == (
        "n-1", 1, 160.0, "HTTP 503 from slack", "PENDING")
    (sent,) = store.outbox.list(status="SENT")
    assert (sent.notification_id, sent.attempts) == ("n-2", 1)
    assert [n.notification_id for n in store.outbox.list()] == ["n-1", "n-2"]


def test_dead_notifications_are_never_due(store: Any) -> None:
    """After the last attempt a notification goes DEAD: listed as such, never due."""
    store.outbox.enqueue(notification("n-1"))
    store.outbox.mark_failed("n-1", 5, 0.0, "HTTP 410 gone", dead=True)
    assert store.outbox.due(1e12) == []
    (dead,) = store.outbox.list(status="DEAD")
    assert (dead.attempts, dead.last_error) == (5, "HTTP 410 gone")
    store.outbox.mark_sent("n-unknown", 1)
    assert len(store.outbox.list()) == 1
