"""Hot reload in `serve`: a control-plane edit takes effect without restart; a bad one is refused, old config kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import API_TOKEN, start_server, stop_server
from tests.api.records import failing_orders
from tests.conftest import ROOT
from tests.controlplane.copies import NEW_TOPIC, add_topic, break_topics, copy_example

_RUN = "import typer; from signal_factory.cli.serve import serve; typer.run(serve)"


def order_on(topic: str, offset: int) -> dict[str, Any]:
    """A good orders.created record (customer_id present) published to `topic`."""
    rec = failing_orders(1, start_offset=offset)[0]
    rec["topic"] = topic
    rec["value"]["payload"]["customer_id"] = "CUST-1"
    return rec


def verdict(client: httpx.Client, topic: str, offset: int) -> tuple[str, list[str]]:
    r = client.post("/api/v1/records", json=[order_on(topic, offset)])
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    return result["result"], result["reason_codes"]


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    """The real app on uvicorn over a writable copy of the example control plane (its own SQLite store)."""
    root = copy_example(tmp_path)
    server, thread, url = start_server(None, tmp_path / "home", token=API_TOKEN, config_dir=root)
    try:
        with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            yield client, root
    finally:
        stop_server(server, thread)


def config(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/v1/health").json()["config"]
    return body


def reloads_metric(client: httpx.Client) -> dict[str, float]:
    """`signal_factory_config_reloads_total` by result, from GET /metrics."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "signal_factory_config_reloads_total":
                found[sample.labels["result"]] = sample.value
    return found


def test_a_topic_added_while_serving_turns_unknown_topic_into_pass(served: tuple[httpx.Client, Path]) -> None:
    """Saving topics.yaml is enough: the next record on the new topic passes G1, no restart."""
    client, root = served
    assert verdict(client, NEW_TOPIC, 1) == ("FAIL", [f"UNKNOWN_TOPIC:{NEW_TOPIC}"])
    add_topic(root)
    wait_for(lambda: config(client)["generation"] == 1, "the reload")
    assert verdict(client, NEW_TOPIC, 2) == ("PASS", [])
    assert config(client)["reloads"] == {"ok": 1, "rejected": 0}
    assert reloads_metric(client) == {"ok": 1.0, "rejected": 0.0}


def test_an_invalid_edit_is_rejected_and_the_running_config_keeps_working(
        served: tuple[httpx.Client, Path]) -> None:
    """A topic mapped to an unknown dataset: refused with file:line and fix; the config before it still serves."""
    client, root = served
    add_topic(root)
    wait_for(lambda: config(client)["generation"] == 1, "the reload")
    line = break_topics(root)
    wait_for(lambda: config(client)["reloads"]["rejected"] == 1, "the rejection")
    state = config(client)
    assert state["generation"] == 1
    assert f"topics.yaml:{line}" in state["last_error"]
    assert "fix: use one of:" in state["last_error"]
    assert verdict(client, NEW_TOPIC, 3) == ("PASS", [])
    assert verdict(client, "raw.typo.events", 4) == ("FAIL", ["UNKNOWN_TOPIC:raw.typo.events"])
    assert reloads_metric(client) == {"ok": 1.0, "rejected": 1.0}


def test_sighup_reloads_a_serve_process(tmp_path: Path) -> None:
    """`serve --no-watch`: an edit alone changes nothing; `kill -HUP` reloads it, and says so on stderr."""
    root = copy_example(tmp_path)
    env = {**os.environ, "SIGNAL_FACTORY_API_TOKEN": API_TOKEN, "SIGNAL_FACTORY_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", _RUN, "--config", str(root), "--db", f"sqlite:///{tmp_path / 'sf.db'}",
           "--port", "0", "--no-watch"]
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        timer = threading.Timer(60, proc.kill)
        timer.start()
        try:
            url = None
            for line in proc.stderr:
                m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
                if m:
                    url = m.group(1)
                    break
            assert url
            with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {API_TOKEN}"}) as c:
                add_topic(root)
                time.sleep(0.5)  # a watch, were there one, would have fired by now
                assert verdict(c, NEW_TOPIC, 1)[0] == "FAIL"
                proc.send_signal(signal.SIGHUP)
                wait_for(lambda: config(c)["generation"] == 1, "the SIGHUP reload")
                assert verdict(c, NEW_TOPIC, 2) == ("PASS", [])
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        finally:
            timer.cancel()
        assert f"config reloaded (SIGHUP), generation 1: topics added: {NEW_TOPIC}" in err
