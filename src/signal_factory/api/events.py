"""The change feed behind `GET /api/v1/events`: one poller per app reads a cheap change marker every
`interval_s`; each Server-Sent Events client is told `event: change` when the version moves."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, marker: Callable[[], object] | None = None, *, interval_s: float = 1.0,
                 ping_s: float = 15.0, tick_s: float = 0.25) -> None:
        self.marker = marker
        self.interval_s = interval_s
        self.ping_s = ping_s
        self.tick_s = tick_s
        self.version = 0
        self.stopping = threading.Event()  # set from any thread (signal handler, server shutdown)

    def stop(self) -> None:
        self.stopping.set()

    async def poll(self) -> None:
        """Run until cancelled or stopped: bump `version` whenever the marker changes."""
        last: object = None
        while not self.stopping.is_set():
            if self.marker is not None:
                try:
                    current = await run_in_threadpool(self.marker)
                except Exception:  # a store hiccup must not end the feed; the next poll retries
                    log.warning("change feed: reading the change marker failed", exc_info=True)
                else:
                    if last is not None and current != last:
                        self.version += 1
                    last = current
            await asyncio.sleep(self.interval_s)

    async def stream(self) -> AsyncIterator[str]:
        """SSE text for one client; ends when the server stops (the response ends it on disconnect)."""
        seen = self.version
        last_ping = time.monotonic()
        yield "retry: 3000\n: connected\n\n"
        while not self.stopping.is_set():
            if self.version != seen:
                seen = self.version
                yield f"event: change\ndata: {json.dumps({'version': seen})}\n\n"
            if time.monotonic() - last_ping >= self.ping_s:
                last_ping = time.monotonic()
                yield ": ping\n\n"
            await asyncio.sleep(self.tick_s)
