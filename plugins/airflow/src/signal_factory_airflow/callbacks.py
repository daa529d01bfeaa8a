"""Task callbacks for DAG authors who do not (or cannot) install the plugin:

    from signal_factory_airflow import on_failure, on_success
    default_args = {"on_failure_callback": on_failure, "on_success_callback": on_success}

or `reporting_callback("failed", url=..., token=...)` for explicit settings. Each reads the task instance
from the callback context and posts one event; it never raises. With the plugin installed as well, the
server counts the run once (events are idempotent by task instance, try and state).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signal_factory_airflow import events, sender, settings


def _report(context: Any, state: str, url: str | None = None, token: str | None = None) -> None:
    try:
        ti = context.get("ti") or context.get("task_instance")
        if ti is None:
            return
        error = context.get("exception") if state == events.FAILED else None
        event = events.task_event(ti, state, error=error, source="callback")
        sender.post_events(settings.load(url, token), [event])
    except Exception as e:  # a callback must never fail the task it reports on
        sender.log.warning("signal-factory: callback could not report (%s: %s)", type(e).__name__, e)


def on_success(context: Any) -> None:
    """`on_success_callback`: report the task instance as succeeded."""
    _report(context, events.SUCCESS)


def on_failure(context: Any) -> None:
    """`on_failure_callback`: report the task instance as failed, with the exception's first line."""
    _report(context, events.FAILED)


def reporting_callback(state: str, *, url: str | None = None, token: str | None = None) -> Callable[[Any], None]:
    """A callback reporting `state` ("success" or "failed") to the given server (else the configured one)."""
    if state not in (events.SUCCESS, events.FAILED):
        raise ValueError(f"state must be 'success' or 'failed', got {state!r}")

    def callback(context: Any) -> None:
        _report(context, state, url, token)

    return callback
