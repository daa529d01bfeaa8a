"""Health and the Server-Sent Events change stream."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from signal_factory.api.deps import Service, json_response
from signal_factory.api.events import ChangeFeed

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/health", summary="Liveness and version")
def health(service: Service) -> Response:
    return json_response(service.health())


@router.get("/events", summary="Server-Sent Events: `event: change` with {version} when the store changed",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def events(request: Request) -> StreamingResponse:
    feed: ChangeFeed = request.app.state.feed
    return StreamingResponse(feed.stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
