"""OpenLineage: `POST /api/v1/lineage` (the official client's HttpTransport default endpoint) takes
RunEvents, DatasetEvents and JobEvents (bearer token, like every write); `GET /api/v1/lineage/runs/{run_id}`
shows a run's state, event history, facets as received and, for a failed run, its `errorMessage`. A
malformed event is a 400 (not JSON) or 422 (not an OpenLineage event) naming the problem. Marquez's read
API is `routes_marquez.py` (its `GET /api/v1/lineage?nodeId=` shares this path)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from signal_factory.api.auth import require_writer
from signal_factory.api.deps import Service, json_response
from signal_factory.api.problems import ApiError, NotFoundError
from signal_factory.api.service import ApiService
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.model import OpenLineageEventError, parse_body
from signal_factory.ingest.openlineage.reads import LineageReader
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.runtime.replay import ReplayService

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])

_EXAMPLE = {"eventType": "START", "eventTime": "2024-01-15T02:00:05.000Z",
            "run": {"runId": "spark-orders-silver-20240115-020005"},
            "job": {"namespace": "spark", "name": "orders_silver_transform"},
            "inputs": [{"namespace": "s3://data-lake-prod", "name": "bronze/orders/2024-01-14/"}],
            "outputs": [{"namespace": "delta://unity-catalog", "name": "sales.orders_silver"}]}


def ingest_lineage(service: ApiService, body: bytes) -> dict[str, Any]:
    try:
        events = parse_body(body)
    except OpenLineageEventError as e:
        err = ApiError(str(e))
        err.status = e.status
        raise err from e
    def run(replay: ReplayService, cp: ControlPlane) -> list[Any]:
        ingest = LineageIngest(replay, load_mapping(cp.root))
        return [ingest.ingest(event) for event in events]

    results = service.as_writer(run)
    return {"events": len(events), "results": results}


@router.post("", summary="Ingest OpenLineage RunEvents, DatasetEvents, JobEvents (one, a JSON array, or JSON lines)",
             dependencies=[Depends(require_writer)],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}, "example": _EXAMPLE}}}})
async def post_lineage(request: Request, service: Service) -> Response:
    body = await request.body()  # decoded (gzip/deflate) and size-limited by BodyLimitMiddleware
    return json_response(await run_in_threadpool(ingest_lineage, service, body))


@router.get("/runs/{run_id}", summary="An OpenLineage run: latest state, timings, datasets, event history, "
                                       "facets as received and the errorMessage of a failed run")
def get_run(run_id: str, service: Service) -> Response:
    view = LineageReader(service.store).run(run_id)
    if view is None:
        raise NotFoundError(f"no OpenLineage run {run_id!r}; POST its RunEvents to /api/v1/lineage first")
    return json_response(view)
