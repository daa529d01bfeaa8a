"""`ApiServer`: uvicorn's server that also ends the SSE streams when it shuts down, so a SIGTERM/SIGINT
(or `should_exit`) never waits on an open `/api/v1/events` connection."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn


class ApiServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None = None,
                 on_started: Callable[[int], None] | None = None) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit and self._on_started is not None:
            self._on_started(self.port)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets)

    def stop(self) -> None:
        """Ask the server to exit (from any thread)."""
        if self._on_shutdown is not None:
            self._on_shutdown()
        self.should_exit = True

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0); only after startup."""
        for server in self.servers:
            for sock in server.sockets:
                port: int = sock.getsockname()[1]
                return port
        raise RuntimeError("the server is not listening yet")
