"""The causal graph: a node's neighbourhood, the lineage, an incident's causal subgraph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from signal_factory.api.deps import Service, json_response
from signal_factory.api.graph_views import MAX_DEPTH

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])


@router.get("/lineage", summary="Every Dataset node and the FEEDS edges between them")
def lineage(service: Service) -> Response:
    return json_response(service.lineage())


@router.get("/incidents/{incident_id}", summary="An incident's causal subgraph")
def incident_graph(incident_id: str, service: Service) -> Response:
    return json_response(service.incident_graph(incident_id))


@router.get("/nodes/{node_id:path}", summary="A node's neighbourhood, both directions (at most 500 nodes)")
def node_neighbourhood(node_id: str, service: Service,
                       depth: Annotated[int, Query(ge=0, description=f"hops, capped at {MAX_DEPTH}")] = 2) -> Response:
    return json_response(service.graph_node(node_id, depth))
