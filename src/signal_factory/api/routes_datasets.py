"""Datasets (control plane + current signal state) and signals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from signal_factory.api.deps import Service, json_response

router = APIRouter(prefix="/api/v1", tags=["datasets"])


@router.get("/datasets", summary="Every control-plane dataset with its signal states and open incidents")
def list_datasets(service: Service) -> Response:
    return json_response(service.datasets())


@router.get("/datasets/{urn}", summary="One dataset")
def get_dataset(urn: str, service: Service) -> Response:
    return json_response(service.dataset(urn))


@router.get("/signals", summary="Signals, newest first")
def list_signals(service: Service, dataset: str | None = None,
                 type: Annotated[str | None, Query(description="Signal type, e.g. CONTRACT_BREACH")] = None,
                 since: Annotated[str | None, Query(description="ISO-8601 event time")] = None,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    return json_response(service.signals(dataset=dataset, signal_type=type, since=since, limit=limit))
