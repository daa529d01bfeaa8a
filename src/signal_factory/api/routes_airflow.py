"""Airflow: `POST /api/v1/airflow/events` takes DAG run and task instance events from the
`signal-factory-airflow` plugin or its task callbacks (bearer token, size limit, like every write);
`GET /api/v1/airflow/runs/{dag_run_id}` shows the DAG run, its tasks and the OpenLineage runs that share
its `dag_run_id`. A malformed event is a 422 naming the item and the field. See docs/airflow.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from signal_factory.api.auth import require_writer
from signal_factory.api.deps import Service, json_response
from signal_factory.api.problems import ApiError, NotFoundError
from signal_factory.api.service import ApiService, body_items
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.ingest.airflow.model import AirflowEventError, parse_event
from signal_factory.ingest.airflow.service import AirflowIngest, dag_run_view
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.runs import run_repo
from signal_factory.runtime.replay import ReplayService

router = APIRouter(prefix="/api/v1/airflow", tags=["airflow"])

_EXAMPLE = [{"kind": "task_instance", "state": "failed", "at": "2024-01-15T10:31:02Z",
             "dag_id": "finance_daily_snapshot",
             "dag_run_id": "scheduled__2024-01-15T10:00:00+00:00", "task_id": "load_snapshot", "try_number": 1,
             "duration_s": 41.2, "inlets": [{"uri": "delta://unity-catalog/sales.orders_silver"}], "outlets": [],
             "error": "ValueError: snapshot totals do not balance"}]


def ingest_airflow(service: ApiService, body: bytes) -> dict[str, Any]:
    try:
        events = [parse_event(doc, where) for where, doc in body_items(body, "Airflow events")]
    except AirflowEventError as e:
        err = ApiError(str(e))
        err.status = 422
        raise err from e
    def run(replay: ReplayService, cp: ControlPlane) -> list[Any]:
        ingest = AirflowIngest(replay, load_mapping(cp.root))
        return [ingest.ingest(event) for event in events]

    results = service.as_writer(run)
    return {"events": len(events), "results": results}


@router.post("/events", summary="Ingest Airflow DAG run / task instance events (a JSON object, array, or lines)",
             dependencies=[Depends(require_writer)],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}},
                                      "example": _EXAMPLE}}}})
async def post_events(request: Request, service: Service) -> Response:
    body = await request.body()  # decoded (gzip/deflate) and size-limited by BodyLimitMiddleware
    return json_response(await run_in_threadpool(ingest_airflow, service, body))


@router.get("/runs/{dag_run_id}", summary="An Airflow DAG run: state, its task runs (state, try, duration, "
            "inlets/outlets) and the OpenLineage runs of the same dag_run_id")
async def get_run(dag_run_id: str, service: Service) -> Response:
    view = dag_run_view(service.store.graph, run_repo(service.store), dag_run_id)
    if view is None:
        raise NotFoundError(f"no DAG run {dag_run_id!r}; the signal-factory-airflow plugin posts them to "
                            "/api/v1/airflow/events")
    return json_response(view)
