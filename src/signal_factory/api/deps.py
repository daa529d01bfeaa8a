"""Shared route plumbing: the service dependency and msgspec-encoded JSON responses."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import Depends, Request, Response

from signal_factory.api.service import ApiService


def get_service(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


Service = Annotated[ApiService, Depends(get_service)]


def json_response(obj: Any, status_code: int = 200) -> Response:
    """Encode structs (Signal, Incident, Evidence ...) and plain data alike, with msgspec."""
    return Response(msgspec.json.encode(obj), status_code=status_code, media_type="application/json")
