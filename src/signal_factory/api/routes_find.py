"""Top-bar search of the web UI: `GET /api/v1/find?q=` (datasets, failure signatures, incidents, deployments).
Named `find`, not `search`: `/api/v1/search` is the Marquez-compatible lineage search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/find", summary="Datasets, failure signatures, incidents and deployments whose text contains `q` "
            "(case-insensitive), grouped by kind, best match first, each with the UI page that opens it")
def find(service: Service, q: Annotated[str, Query(max_length=200, description="Text to look for, e.g. v3.17")],
         limit: Annotated[int, Query(ge=1, le=50, description="Most results per kind")] = 8) -> Response:
    return json_response(service.find(q, limit=limit))
