"""`create_app`: the FastAPI application. Nothing happens at import time; the store is opened in the
lifespan (startup) and closed on shutdown.

    app = create_app(Path("examples/orders"), "sqlite:///.signal-factory/signal-factory.db", token=None)

Routes live in `routes_*.py` and call one `ApiService`; OpenAPI at /openapi.json, docs at /docs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from signal_factory import __version__
from signal_factory.api import (
    routes_airflow,
    routes_datasets,
    routes_evidence,
    routes_find,
    routes_graph,
    routes_incidents,
    routes_ingest,
    routes_lineage,
    routes_marquez,
    routes_mutes,
    routes_otlp,
    routes_session,
    routes_system,
    routes_ui,
)
from signal_factory.api.errorboundary import ErrorBoundaryMiddleware
from signal_factory.api.events import ChangeFeed
from signal_factory.api.limits import BodyLimitMiddleware
from signal_factory.api.metrics import CONTENT_TYPE, ApiMetrics, MetricsMiddleware
from signal_factory.api.problems import ApiError
from signal_factory.api.security import SecurityHeadersMiddleware
from signal_factory.api.service import ApiService
from signal_factory.api.session import Sessions, Users
from signal_factory.errors import StoreFailedError
from signal_factory.settings import Secret

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(__name__)
_WHERE = {"query": "query parameter", "path": "path parameter", "body": "body field", "header": "header"}


def create_app(config_dir: Path, db_url: str | None, *, token: str | None = None, max_body_bytes: int = 10_000_000,
               home: Path = Path(".signal-factory"), static_dir: Path | None = None,
               feed: ChangeFeed | None = None, read_token: str | None = None, users: Users | None = None,
               session_key: bytes | None = None, watch_config: bool = True) -> FastAPI:
    """The API over the control plane in `config_dir` and the store at `db_url` (None: SQLite under `home`).

    `token` enables writes (Bearer auth); without it the API is read-only. `read_token` (or `token`) lets a
    reader fetch stored payloads; without either, payloads are not served. `feed` tunes the change
    stream's timing (tests); `static_dir` replaces the packaged UI files. `watch_config`: reload the
    control plane when its files change (`app.state.service.reloader`; SIGHUP is the CLI's to install).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = ApiService.open(config_dir, db_url, home=home)
        service.metrics = app.state.metrics
        service.reloader.on_result = app.state.metrics.config_reload
        app.state.service = service
        if watch_config:
            service.reloader.watch()
        change_feed: ChangeFeed = app.state.feed
        change_feed.marker = service.change_marker
        poller = asyncio.create_task(change_feed.poll())
        try:
            yield
        finally:
            change_feed.stop()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            service.close()

    # FastAPIOffline: Swagger UI and ReDoc from assets in the fastapi-offline wheel, not a CDN (/docs works offline).
    app = FastAPIOffline(title="Signal Factory API", version=__version__, lifespan=lifespan,
                  description="Datasets, signals, incidents, evidence, root cause and the causal graph. "
                              "Writes need `Authorization: Bearer <SIGNAL_FACTORY_API_TOKEN>`.")
    app.state.token = _secret(token)
    app.state.users = users  # None: no sign-in (writes need the API token)
    app.state.sessions = Sessions(session_key)
    app.state.read_token = _secret(read_token)
    app.state.static_dir = static_dir or STATIC_DIR
    app.state.feed = feed or ChangeFeed()
    metrics = app.state.metrics = ApiMetrics()
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(ErrorBoundaryMiddleware)  # a bug answers problem+json 500
    app.add_middleware(SecurityHeadersMiddleware)  # on every answer, the error boundary's 500s included
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts every answer
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StoreFailedError, _store_failed)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for module in (routes_system, routes_datasets, routes_incidents, routes_evidence, routes_graph, routes_ingest,
                   routes_lineage, routes_marquez, routes_otlp, routes_mutes, routes_session, routes_airflow,
                   routes_find):
        app.include_router(module.router)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    app.include_router(routes_ui.router)  # last: catch-alls
    return app


def _secret(token: str | None) -> Secret | None:
    if token is None or isinstance(token, Secret):
        return token
    return Secret(token) if token else None


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    """problem+json (RFC 9457) with the message as `detail`; a 503 says when to retry."""
    assert isinstance(exc, ApiError)
    problem = {"type": "about:blank", "title": HTTPStatus(exc.status).phrase, "status": exc.status,
               "detail": str(exc)}
    headers = {"Retry-After": "5"} if exc.status == 503 else None
    return JSONResponse(problem, status_code=exc.status, media_type="application/problem+json", headers=headers)


async def _store_failed(_request: Request, exc: Exception) -> JSONResponse:
    """503 problem+json with the store's one-line reason (no SQL, no values); the request can be retried."""
    log.warning("request failed on the store: %s", exc)
    problem = {"type": "about:blank", "title": "Service Unavailable", "status": 503,
               "detail": f"{exc}; retry the request when the database is back"}
    return JSONResponse(problem, status_code=503, media_type="application/problem+json",
                        headers={"Retry-After": "5"})


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field: `query parameter limit: Input should be ...`, plus FastAPI's error list."""
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = []
    parts: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = _WHERE.get(loc[0], loc[0]) if loc else "request"
        name = ".".join(loc[1:]) or "(whole body)"
        parts.append(f"{where} `{name}`: {err.get('msg', 'invalid')}")
        errors.append({"loc": loc, "msg": err.get("msg"), "type": err.get("type")})
    return JSONResponse({"detail": "; ".join(parts), "errors": errors}, status_code=422)
