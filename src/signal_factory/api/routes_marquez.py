"""Marquez's read API over our OpenLineage store, so tools that read lineage from Marquez read it from us.

    GET /api/v1/namespaces                                   {"namespaces": [Namespace]}
    GET /api/v1/namespaces/{ns}                              Namespace
    GET /api/v1/namespaces/{ns}/jobs[?limit&offset]          {"jobs": [Job], "totalCount"}
    GET /api/v1/namespaces/{ns}/jobs/{job}                   Job
    GET /api/v1/namespaces/{ns}/jobs/{job}/runs              {"runs": [Run], "totalCount"}
    GET /api/v1/namespaces/{ns}/datasets[?limit&offset]      {"datasets": [Dataset], "totalCount"}
    GET /api/v1/namespaces/{ns}/datasets/{dataset}           Dataset
    GET /api/v1/jobs[?limit&offset]                          {"jobs": [Job], "totalCount"}
    GET /api/v1/jobs/runs/{id}                               Run
    GET /api/v1/jobs/runs/{id}/facets?type=run|job           {"runId", "facets"}
    GET /api/v1/lineage?nodeId=dataset:{ns}:{name}&depth=N   {"graph": [{id, type, data, inEdges, outEdges}]}
    GET /api/v1/search?q=&filter=&sort=&limit=&namespace=    {"totalCount", "results": [SearchResult]}

Namespaces and names hold `/` and `:` (`s3://bucket`, `bronze/orders/`): clients percent-encode them
(`s3%3A%2F%2Fbucket`), and the server decodes `%2F` before routing, so the `namespaces/...` routes read
the raw path and split it themselves; an unencoded namespace is matched against the known ones. None
of these paths collides with ours: `/api/v1/datasets` (control-plane datasets by URN) stays ours, and
Marquez's datasets are always under a namespace. Errors are our problem JSON (`{"detail": ...}`), not
Marquez's `{"code", "message"}`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request, Response

from signal_factory.api.deps import Service, json_response
from signal_factory.api.problems import BadRequestError, NotFoundError
from signal_factory.ingest.openlineage.reads import JOB_FACETS, RUN_FACETS, LineageReader

router = APIRouter(prefix="/api/v1", tags=["marquez"])
_PREFIX = "/api/v1/namespaces/"
Limit = Annotated[int, Query(ge=0, le=10_000)]
Offset = Annotated[int, Query(ge=0)]


def _found(doc: dict[str, Any] | None, what: str) -> Response:
    if doc is None:
        raise NotFoundError(f"no {what}; POST its OpenLineage events to /api/v1/lineage first")
    return json_response(doc)


@router.get("/namespaces", summary="Marquez: every namespace an OpenLineage event named")
def list_namespaces(service: Service, limit: Limit = 100, offset: Offset = 0) -> Response:
    return json_response({"namespaces": LineageReader(service.store).namespaces()[offset:offset + limit]})


def _segments(request: Request) -> list[str]:
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    path = path.split("?", 1)[0]
    return [unquote(s) for s in path[len(_PREFIX):].split("/")] if path.startswith(_PREFIX) else []


def _split_namespace(segments: list[str], known: list[str]) -> tuple[str, list[str]]:
    """(namespace, the rest): the first segment, or the longest run of segments naming a known namespace
    (an unencoded `s3://bucket` arrives as `s3:`, ``, `bucket`)."""
    for i in range(len(segments), 1, -1):
        if "/".join(segments[:i]) in known:
            return "/".join(segments[:i]), segments[i:]
    return segments[0], segments[1:]


@router.get("/namespaces/{rest:path}", summary="Marquez: a namespace, its jobs, a job and its runs, its datasets")
def namespaced(rest: str, request: Request, service: Service, limit: Limit = 100, offset: Offset = 0) -> Response:
    reader = LineageReader(service.store)
    segments = _segments(request) or rest.split("/")
    ns, tail = _split_namespace(segments, reader.namespace_names())
    if not tail or tail == [""]:
        return _found(reader.namespace(ns), f"namespace {ns!r}")
    kind, names = tail[0], tail[1:]
    if kind == "jobs":
        if not names or names == [""]:
            return json_response({**reader.jobs(ns, limit, offset)})
        name = "/".join(names)
        if names[-1] == "runs" and len(names) > 1 and reader.catalog.get_job(ns, name) is None:
            job = "/".join(names[:-1])
            return _found(reader.job_runs(ns, job, limit, offset), f"job {job!r} in namespace {ns!r}")
        return _found(reader.job(ns, name), f"job {name!r} in namespace {ns!r}")
    if kind == "datasets":
        if not names or names == [""]:
            return json_response(reader.datasets(ns, limit, offset))
        name = "/".join(names)
        return _found(reader.dataset(ns, name), f"dataset {name!r} in namespace {ns!r}")
    raise NotFoundError(f"no route /namespaces/{{namespace}}/{kind}: Marquez's are jobs and datasets")


@router.get("/jobs", summary="Marquez: every job, all namespaces")
def list_jobs(service: Service, limit: Limit = 100, offset: Offset = 0) -> Response:
    return json_response(LineageReader(service.store).jobs(None, limit, offset))


@router.get("/jobs/runs/{run_id}", summary="Marquez: one run (state, times, facets, dataset versions)")
def get_run(run_id: str, service: Service) -> Response:
    return _found(LineageReader(service.store).marquez_run(run_id), f"run {run_id!r}")


@router.get("/jobs/runs/{run_id}/facets", summary="Marquez: a run's facets, or its job's (`type=job`)")
def get_run_facets(run_id: str, service: Service,
                   type: Annotated[str, Query(pattern=f"^({RUN_FACETS}|{JOB_FACETS})$")] = RUN_FACETS) -> Response:
    return _found(LineageReader(service.store).run_facets(run_id, type), f"run {run_id!r}")


@router.get("/lineage", summary="Marquez: the lineage graph around a dataset or job node")
def get_lineage(service: Service,
                node_id: Annotated[str, Query(alias="nodeId", min_length=1,
                                              description="dataset:<namespace>:<name> or job:<namespace>:<name>")],
                depth: Annotated[int, Query(ge=0, le=100)] = 20) -> Response:
    if not node_id.startswith(("dataset:", "job:")):
        raise BadRequestError(f"nodeId {node_id!r} must start with `dataset:` or `job:` "
                              "(e.g. dataset:food_delivery:public.delivery_7_days)")
    return _found(LineageReader(service.store).lineage(node_id, depth), f"node {node_id!r}")


@router.get("/search", summary="Marquez: jobs and datasets whose name matches (case-insensitive; % and _ wildcards)")
def search(service: Service, q: Annotated[str, Query(min_length=1)],
           filter: Annotated[str | None, Query(pattern="^(?i:dataset|job)$")] = None,
           sort: Annotated[str, Query(pattern="^(?i:name|updated_at)$")] = "name",
           limit: Annotated[int, Query(ge=1, le=10_000)] = 10, namespace: str | None = None) -> Response:
    return json_response(LineageReader(service.store).search(
        q, filter_=filter.lower() if filter else None, sort=sort.lower(), limit=limit, namespace=namespace))
