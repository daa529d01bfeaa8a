"""POST JSON to Signal Factory with the standard library: a timeout per attempt, a few retries with
backoff on connection errors, 429 and 5xx, and never an exception to the caller (a task must not fail
because its observer is down). Returns whether the server took the event."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from signal_factory_airflow.settings import Settings

log = logging.getLogger("signal_factory_airflow")
BACKOFF_S = 0.25


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post_events(settings: Settings, events: list[dict[str, Any]]) -> bool:
    endpoint = settings.endpoint
    if not endpoint or not events:
        return False
    try:
        body = json.dumps(events, default=str).encode()
    except (TypeError, ValueError) as e:
        log.warning("signal-factory: could not encode the event (%s); not reported", e)
        return False
    headers = {"Content-Type": "application/json", "User-Agent": "signal-factory-airflow"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_s) as answer:
                answer.read()
                return True
        except urllib.error.HTTPError as e:
            with e:  # holds the connection: close it, retried or not
                if not _retryable(e.code):
                    log.warning("signal-factory: %s answered %s (%s); event not reported", endpoint, e.code,
                                e.read()[:300].decode(errors="replace"))
                    return False
            reason = f"HTTP {e.code}"
        except Exception as e:  # connection refused, timeout, DNS: retry, then give up quietly
            reason = f"{type(e).__name__}: {e}"
        log.info("signal-factory: attempt %d to %s failed: %s", attempt + 1, endpoint, reason)
    log.warning("signal-factory: %s unreachable after %d attempts; event not reported", endpoint,
                settings.retries + 1)
    return False
