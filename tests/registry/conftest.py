"""A real local HTTP server that speaks enough of the Confluent Schema Registry REST API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from signal_factory.registry.confluent import ConfluentSchemaRegistry


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # concurrent clients must not hit SYN retries
    daemon_threads = False
    block_on_close = True  # server_close() joins handler threads


class FakeRegistry:
    """In-memory registry served over HTTP on 127.0.0.1, with outage switches and a request log."""

    def __init__(self) -> None:
        self.schemas: dict[int, tuple[str, str]] = {}  # id -> (schemaType, text)
        self.subjects: dict[str, dict[int, int]] = {}  # subject -> version -> id
        self.fail_status: int | None = None  # answer every request with this status
        self.delay_s = 0.0
        self.requests: list[str] = []
        self.auth_headers: list[str | None] = []
        self.port = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, subject: str, text: str, schema_type: str = "AVRO") -> tuple[int, int]:
        """Register a schema under a subject; returns (global id, version)."""
        with self._lock:
            schema_id = len(self.schemas) + 1
            self.schemas[schema_id] = (schema_type, text)
            versions = self.subjects.setdefault(subject, {})
            version = max(versions, default=0) + 1
            versions[version] = schema_id
            return schema_id, version

    def start(self) -> None:
        """Listen (again) on the same port."""
        server = _Server(("127.0.0.1", self.port), _handler_for(self))
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def answer(self, path: str, auth: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(path)
            self.auth_headers.append(auth)
            if self.fail_status is not None:
                return self.fail_status, {"error_code": self.fail_status * 100, "message": "boom"}
            parts = path.split("/")
            if len(parts) == 4 and parts[1:3] == ["schemas", "ids"] and parts[3].isdigit():
                found = self.schemas.get(int(parts[3]))
                if found is None:
                    return 404, {"error_code": 40403, "message": "Schema not found"}
                return 200, _with_type({"schema": found[1]}, found[0])
            if len(parts) == 5 and parts[1] == "subjects" and parts[3] == "versions":
                subject = unquote(parts[2])
                versions = self.subjects.get(subject)
                if versions is None:
                    return 404, {"error_code": 40401, "message": f"Subject '{subject}' not found."}
                version = max(versions) if parts[4] == "latest" else int(parts[4])
                if version not in versions:
                    return 404, {"error_code": 40402, "message": "Version not found."}
                sid = versions[version]
                schema_type, text = self.schemas[sid]
                body = {"subject": subject, "version": version, "id": sid, "schema": text}
                return 200, _with_type(body, schema_type)
            return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}


def _with_type(body: dict[str, Any], schema_type: str) -> dict[str, Any]:
    """Like the real registry: `schemaType` is omitted for AVRO."""
    if schema_type != "AVRO":
        body["schemaType"] = schema_type
    return body


def _handler_for(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads

        def do_GET(self) -> None:
            if registry.delay_s:
                time.sleep(registry.delay_s)
            status, body = registry.answer(self.path, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:
                pass  # client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def registry_server() -> Iterator[FakeRegistry]:
    """A running fake registry, stopped (threads joined) at teardown."""
    server = FakeRegistry()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def confluent(registry_server: FakeRegistry) -> Iterator[ConfluentSchemaRegistry]:
    """A client for the fake registry, closed at teardown."""
    with ConfluentSchemaRegistry(registry_server.url, timeout_s=2.0) as client:
        yield client
