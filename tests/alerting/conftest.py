"""Alerting fixtures: Scenario 1's signal, a store (memory and SQLite), and a real local HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest

from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.policy import AlertPolicy, Route
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, TUMBLING_5MIN, Signal, TopFailure, Window
from signal_factory.stores.memory import MemoryStore
from signal_factory.stores.ports import Store
from signal_factory.stores.sql import open_store

ORDERS = "urn:dp:orders:created"
WINDOW0_END = "2024-01-15T10:00:00.000Z"
FIVE_MIN = 300_000

#: Scenario 1 Step 5, verbatim from the seed (routing key, ids and link are the seed's).
SEED_PAGERDUTY = {
    "routing_key": "data-platform-oncall",
    "event_action": "trigger",
    "dedup_key": "INC-7721",
    "payload": {
        "summary": "[SEV-1] Contract Violation - orders:created - 89.8% failure rate",
        "severity": "critical",
        "source": "signal-factory",
        "custom_details": {
            "incident_id": "INC-7721",
            "dataset": "urn:dp:orders:created",
            "failure_signature": "MISSING_FIELD:customer_id",
            "suspected_cause": "orders-svc v3.17 deployment at 09:58 AM",
            "rca_link": "https://observability.internal/rca/INC-7721",
        },
    },
}


def scenario_signal(window: int = 0, *, state: str = CRITICAL, provisional: bool = False,
                    **overrides: Any) -> Signal:
    """Scenario 1 Step 3's CONTRACT_BREACH signal, for the `window`-th five-minute window after 09:55."""
    end_ms = (parse_iso_ms(WINDOW0_END) or 0) + window * FIVE_MIN
    failing = state != "OK"
    signal = Signal(
        signal_id=f"sig-w{window}-{'p' if provisional else 'f'}-{state.lower()}",
        signal_type=CONTRACT_BREACH, dataset_urn=ORDERS, state=state,
        window=Window(start=iso_ms(end_ms - FIVE_MIN), end=iso_ms(end_ms), type=TUMBLING_5MIN),
        timestamp=iso_ms(end_ms - (60_000 if provisional else 0)),
        metrics={"evidence_count": 1247, "pass_count": 127 if failing else 1247, "fail_count": 1120 if failing else 0,
                 "compliance_rate": 0.102 if failing else 1.0, "slo_threshold": 0.95},
        top_failures=[TopFailure(signature="MISSING_FIELD:customer_id", count=1120,
                                 first_seen="2024-01-15T09:58:02.312Z", producer="orders-svc",
                                 producer_version="v3.17")] if failing else [],
        evidence_refs=["evd-01HQXY8MNP4QR7ST9VW2XYZ456", "evd-01HQXY8MNP4QR7ST9VW2XYZ457",
                       "evd-01HQXY8MNP4QR7ST9VW2XYZ458"] if failing else [],
        details={"primary_trace_id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"} if failing else None,
        provisional=provisional, revision=0 if provisional else 1)
    return msgspec.structs.replace(signal, **overrides) if overrides else signal


def pagerduty_route(url: str = "https://events.pagerduty.com/v2/enqueue", **kw: Any) -> Route:
    return Route(name="data-platform-oncall", type="pagerduty", url=url,
                 routing_key=kw.pop("routing_key", "data-platform-oncall"), **kw)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store: the in-memory one and the SQL one on SQLite (the same promises must hold on both)."""
    s: Store = MemoryStore() if request.param == "memory" else open_store(f"sqlite:///{tmp_path / 'alerts.db'}")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def policy() -> AlertPolicy:
    return AlertPolicy(routes=(pagerduty_route(), Route(name="team-slack", type="slack", url="https://hooks.invalid/x")))


@pytest.fixture
def engine(control_plane: ControlPlane, policy: AlertPolicy, store: Store) -> AlertingEngine:
    return AlertingEngine(control_plane, policy, store.incidents, store.outbox, clock=lambda: 1705313000.0)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it accepts; `status` switches its answer."""

    def __init__(self) -> None:
        self.status = 200
        self.reply: bytes | None = None  # default: a PagerDuty-like success or error JSON
        self.retry_after: str | None = None
        self.fail_first = 0  # answer 503 to this many requests before `status`
        self.received: list[tuple[str, dict[str, Any]]] = []  # (path, body) of requests answered 2xx
        self.attempts = 0
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Listen (on the same port as before, after a `stop`)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver._lock:
                    receiver.attempts += 1
                    status = 503 if receiver.attempts <= receiver.fail_first else receiver.status
                    if 200 <= status < 300:
                        receiver.received.append((self.path, body))
                reply = receiver.reply or (b'{"status":"success"}' if 200 <= status < 300
                                           else b'{"status":"unavailable"}')
                self.send_response(status)
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    try:
        yield r
    finally:
        r.stop()
