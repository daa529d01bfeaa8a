"""Send one outbox notification over HTTP (httpx) and classify the outcome. Secrets stay out of logs.

Outcomes: 2xx -> SENT; 429, 5xx, timeouts and connection errors -> RETRY (honouring `Retry-After`);
any other 4xx -> DEAD (the receiver rejected the body or the key; retrying cannot help); a route whose
secret is not configured -> UNCONFIGURED (kept PENDING, attempts not counted).

httpx logs every request URL at INFO on the `httpx` logger; Slack webhook URLs carry a token in the
path, so `HttpSender` installs a filter there that replaces each configured secret with `***`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from signal_factory.alerting.policy import Route
from signal_factory.model.incidents import Notification

log = logging.getLogger(__name__)

SENT = "SENT"
RETRY = "RETRY"
DEAD = "DEAD"
UNCONFIGURED = "UNCONFIGURED"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "signal-factory-alerting/1"
_SNIPPET = 200
MIN_SECRET_LEN = 8


@dataclass(frozen=True)
class SendResult:
    outcome: str  # SENT | RETRY | DEAD | UNCONFIGURED
    detail: str  # safe to log: no URL, no key
    status_code: int | None = None
    retry_after_s: float | None = None


class _Redactor(logging.Filter):
    """Rewrites log records so that no registered secret appears in them."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: list[str]) -> None:
        """Register secrets; very short values (test placeholders) are skipped so logs stay readable."""
        with self._lock:
            self._secrets.update(s for s in secrets if len(s) >= MIN_SECRET_LEN)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            clean = self.scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


REDACTOR = _Redactor()


def wire_body(notification: Notification, route: Route) -> dict[str, Any]:
    """The JSON actually sent: PagerDuty bodies get the routing key, first, as in the Events API v2 docs."""
    if route.type == "pagerduty":
        key = route.routing_key.reveal() if route.routing_key is not None else ""
        return {"routing_key": key, **notification.body}
    return notification.body


class HttpSender:
    """Posts notifications with one shared `httpx.Client` (created here unless given; closed by `close`)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._own = client is None
        self.client = client if client is not None else httpx.Client(
            timeout=DEFAULT_TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT})
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(REDACTOR)  # idempotent

    def close(self) -> None:
        if self._own:
            self.client.close()

    def send(self, notification: Notification, route: Route) -> SendResult:
        missing = route.missing_secret()
        if missing is not None:
            return SendResult(UNCONFIGURED, missing)
        assert route.url is not None
        REDACTOR.add(route.secrets())
        try:
            response = self.client.post(route.url.reveal(), json=wire_body(notification, route))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
            return SendResult(DEAD, f"invalid URL for route {route.name!r} ({type(e).__name__})")
        except httpx.TimeoutException as e:
            return SendResult(RETRY, f"timeout ({type(e).__name__})")
        except httpx.TransportError as e:
            return SendResult(RETRY, f"connection failed ({type(e).__name__}: {REDACTOR.scrub(str(e))})")
        code = response.status_code
        if 200 <= code < 300:
            return SendResult(SENT, f"HTTP {code}", code)
        snippet = REDACTOR.scrub(response.text[:_SNIPPET]).replace("\n", " ")
        if code == 429 or code >= 500:
            return SendResult(RETRY, f"HTTP {code} {snippet}".strip(), code, _retry_after(response))
        return SendResult(DEAD, f"HTTP {code} {snippet}".strip(), code)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
