"""The Server-Sent Events change stream: a change event after a write, clean end on shutdown."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from tests.api.conftest import start_server, stop_server
from tests.api.records import failing_orders


def _wait_connected(lines: object) -> None:
    for line in lines:  # type: ignore[attr-defined]
        if line == ": connected":
            return
    raise AssertionError("the stream ended before its first comment")


def test_change_event_after_a_write(api_server_token: tuple[str, str]) -> None:
    """A client on /api/v1/events gets `event: change` with a version soon after a write."""
    base, token = api_server_token
    with httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=10)) as c, \
            c.stream("GET", "/api/v1/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        _wait_connected(lines)
        r = c.post("/api/v1/records", json=failing_orders(5), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        for line in lines:
            if line == "event: change":
                data = next(lines)
                assert data.startswith("data: ")
                assert json.loads(data.removeprefix("data: "))["version"] >= 1
                break
        else:
            raise AssertionError("no change event")


def test_stream_ends_when_the_server_shuts_down(scenario1_db: Path, tmp_path: Path) -> None:
    """An open event stream does not hold up shutdown: the server stops promptly and the stream ends."""
    db = tmp_path / "s.db"
    db.write_bytes(scenario1_db.read_bytes())
    server, thread, base = start_server(db, tmp_path)
    ended = threading.Event()
    connected = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=10)) as c, c.stream("GET", f"{base}/api/v1/events") as s:
                for line in s.iter_lines():
                    if line == ": connected":
                        connected.set()
        except httpx.HTTPError as e:  # the server may cut the connection instead of ending the body
            errors.append(e)
        finally:
            ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert connected.wait(10)
    started = time.monotonic()
    stop_server(server, thread)
    assert time.monotonic() - started < 4
    assert ended.wait(5)
    reader.join(5)
    assert not errors, errors
