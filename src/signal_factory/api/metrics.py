"""`GET /metrics` on `serve`: Prometheus text exposition of requests, latencies and ingest counts.

Names (prefixed `signal_factory_`), all present at 0 from start so `rate()` works on a quiet server:

    http_requests_total{method,route,status}     requests answered, by route template (`/api/v1/incidents/{id}`,
                                                 never the raw path: ids would explode the series)
    http_request_duration_seconds{method,route}  histogram: first byte in -> response finished
    ingested_records_total{kind}                 records / evidence taken in through the write endpoints
    ingested_evidence_total{kind}                evidence stored for the first time by those requests
    errors_total{kind}                           unhandled (500) and store (503) failures
    config_reloads_total{result}                 control-plane reloads: ok, rejected (runtime/reload.py)

plus process_*, python_info and build_info (runtime/procmetrics.py). The endpoint needs no token: it
carries counts and timings only, never a record value or an id.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_factory.runtime.procmetrics import PREFIX, add_process_metrics, reload_counter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INGEST_KINDS = ("records", "evidence", "s3")
_UNMATCHED = "(unmatched)"


class ApiMetrics:
    """The metrics of one `serve` process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        add_process_metrics(r, "serve")
        self.requests = Counter(f"{PREFIX}http_requests", "HTTP requests answered, by route template and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram(f"{PREFIX}http_request_duration_seconds", "HTTP request latency.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.records = Counter(f"{PREFIX}ingested_records", "Records or evidence taken in by write endpoints.",
                               ["kind"], registry=r)
        self.evidence = Counter(f"{PREFIX}ingested_evidence", "Evidence stored for the first time by write "
                                "endpoints.", ["kind"], registry=r)
        self.errors = Counter(f"{PREFIX}errors", "Failed requests, by kind (internal: 500, store: 503).",
                              ["kind"], registry=r)
        for kind in INGEST_KINDS:
            self.records.labels(kind=kind)
            self.evidence.labels(kind=kind)
        for kind in ("internal", "store"):
            self.errors.labels(kind=kind)
        self.config_reloads = reload_counter(r)

    def config_reload(self, result: str) -> None:
        """One control-plane reload attempt (`ok` or `rejected`): `ConfigReloader(on_result=...)`."""
        self.config_reloads.labels(result=result).inc()

    def ingested(self, kind: str, records: int, new_evidence: int) -> None:
        self.records.labels(kind=kind).inc(records)
        self.evidence.labels(kind=kind).inc(new_evidence)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", "GET"))
            code = status["code"]
            self.metrics.requests.labels(method=method, route=route, status=str(code)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - start)
            if code == 500:
                self.metrics.errors.labels(kind="internal").inc()
            elif code == 503:
                self.metrics.errors.labels(kind="store").inc()


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return _UNMATCHED
    if path == "/{path:path}":
        return "/ (web UI)"  # every UI page and asset: one series, not one per file
    return path
