"""The signal-factory-airflow plugin's code path without Airflow: the events it builds from Airflow 2 and 3
style objects are what the server's parser accepts, delivery retries what is worth retrying and never raises,
and the task callbacks never fail a task."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from signal_factory.ingest.airflow.model import parse_event
from signal_factory_airflow import callbacks, events, sender, settings

START = datetime(2024, 1, 15, 10, 30, 21, tzinfo=UTC)


def _ti(**more: Any) -> SimpleNamespace:
    task = SimpleNamespace(task_type="PythonOperator", inlets=[SimpleNamespace(uri="urn:dp:orders:silver"), "s3://a/b"],
                           outlets=[SimpleNamespace(uri="s3://finance/snap", name="snap"),
                                    SimpleNamespace(url="file:///tmp/out.csv")])
    base = {"dag_id": "finance_daily_snapshot", "run_id": "scheduled__2024-01-15T10:00:00+00:00",
            "task_id": "load_snapshot", "map_index": -1, "try_number": 2, "start_date": START,
            "end_date": datetime(2024, 1, 15, 10, 31, 2, tzinfo=UTC), "task": task}
    return SimpleNamespace(**{**base, **more})


def test_task_event_reads_airflow_objects_and_the_server_accepts_it() -> None:
    """Inlets (Asset/Dataset `uri`, lineage `url`, strings), try, duration and the error's first line round-trip."""
    event = events.task_event(_ti(), events.FAILED, error=ValueError("totals do not balance\nmore detail"))
    parsed = parse_event(msgspec.json.encode([event])[1:-1], "item 0")
    assert (parsed.kind, parsed.state, parsed.dag_run_id, parsed.try_number) == (
        "task_instance", "failed", "scheduled__2024-01-15T10:00:00+00:00", 2)
    assert [a.uri for a in parsed.inlets] == ["urn:dp:orders:silver", "s3://a/b"]
    assert [(a.uri, a.name) for a in parsed.outlets] == [("s3://finance/snap", "snap"), ("file:///tmp/out.csv", None)]
    assert parsed.duration_s == 41.0
    assert parsed.error == "ValueError: totals do not balance"


def test_airflow2_duration_and_naive_times() -> None:
    """An Airflow 2 TaskInstance's own `duration` wins; naive datetimes are read as UTC; running has no end."""
    ti = _ti(duration=7.5, start_date=datetime(2024, 1, 15, 10, 30, 21), end_date=None)
    done = events.task_event(ti, events.SUCCESS)
    assert (done["duration_s"], done["start_date"]) == (7.5, "2024-01-15T10:30:21Z")
    running = events.task_event(ti, events.RUNNING)
    assert "end_date" not in running
    assert "duration_s" not in running


class _Flaky(http.server.BaseHTTPRequestHandler):
    answers: list[int] = []
    seen: list[bytes] = []

    def do_POST(self) -> None:
        self.seen.append(self.rfile.read(int(self.headers["content-length"])))
        code = self.answers.pop(0) if self.answers else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    """A local HTTP server answering the codes queued in `answers`, then 200."""
    handler = type("Handler", (_Flaky,), {"answers": [], "seen": []})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_retries_5xx_then_delivers(flaky: tuple[str, type[_Flaky]]) -> None:
    """503 then 200: the event is delivered on the second attempt."""
    url, handler = flaky
    handler.answers[:] = [503]
    assert sender.post_events(settings.Settings(url, "t", timeout_s=2, retries=2), [{"a": 1}])
    assert len(handler.seen) == 2


def test_client_error_is_not_retried(flaky: tuple[str, type[_Flaky]]) -> None:
    """A 422 is the event's fault: one attempt, reported as not delivered, no exception."""
    url, handler = flaky
    handler.answers[:] = [422]
    assert not sender.post_events(settings.Settings(url, "t", timeout_s=2, retries=3), [{"a": 1}])
    assert len(handler.seen) == 1


def test_server_down_returns_false_quickly() -> None:
    """Nothing listening: every attempt fails, the call returns False without raising, within its budget."""
    started = time.monotonic()
    assert not sender.post_events(settings.Settings("http://127.0.0.1:9", None, timeout_s=0.5, retries=2), [{"a": 1}])
    assert time.monotonic() - started < 5


def test_callbacks_never_raise(monkeypatch: pytest.MonkeyPatch, flaky: tuple[str, type[_Flaky]]) -> None:
    """A context without a task instance, or one whose task is odd, reports nothing and raises nothing."""
    url, handler = flaky
    monkeypatch.setenv("SIGNAL_FACTORY_URL", url)
    callbacks.on_failure({})
    callbacks.on_success({"ti": object()})
    callbacks.on_failure({"ti": _ti(), "exception": RuntimeError("boom")})
    assert len(handler.seen) == 2
    sent = msgspec.json.decode(handler.seen[-1])[0]
    assert (sent["state"], sent["error"], sent["source"]) == ("failed", "RuntimeError: boom", "callback")
    with pytest.raises(ValueError, match="state must be"):
        callbacks.reporting_callback("skipped")


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments win over the environment; no URL anywhere means reporting is off; the token is never printed."""
    monkeypatch.delenv("SIGNAL_FACTORY_URL", raising=False)
    assert settings.load().endpoint is None
    monkeypatch.setenv("SIGNAL_FACTORY_URL", "http://env:8080/")
    monkeypatch.setenv("SIGNAL_FACTORY_API_TOKEN", "sekret")
    assert settings.load().endpoint == "http://env:8080/api/v1/airflow/events"
    assert settings.load(url="http://arg").endpoint == "http://arg/api/v1/airflow/events"
    assert "sekret" not in repr(settings.load())
