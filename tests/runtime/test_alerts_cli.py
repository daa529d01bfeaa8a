"""`signal-factory run alerts` as a process: Scenario 1's incident paged over real HTTP, secrets kept out of
the logs, the outbox left SENT; and the alerts metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql import open_store
from tests.alerting.conftest import Receiver, receiver
from tests.conftest import EXAMPLE

__all__ = ["receiver"]
ROOT = Path(__file__).resolve().parents[2]
KEY = "pd-R0UTING-key-s3cret"


def _config(tmp_path: Path, receiver: Receiver) -> Path:
    """examples/orders with PagerDuty and the webhook pointed at the local receiver."""
    cfg = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, cfg)
    alerting = cfg / "alerting.yaml"
    text = alerting.read_text()
    text = text.replace("    # url: https://events.pagerduty.com/v2/enqueue  # the default",
                        f"    url: {receiver.url('/v2/enqueue')}")
    text = text.replace("http://127.0.0.1:9000/hooks/signal-factory", receiver.url("/hooks"))
    assert receiver.url("/v2/enqueue") in text
    alerting.write_text(text)
    return cfg


@pytest.mark.slow
def test_run_alerts_pages_scenario1_and_keeps_secrets_out_of_logs(tmp_path: Path, receiver: Receiver) -> None:
    cfg = _config(tmp_path, receiver)
    url = f"sqlite:///{tmp_path / 'sf.db'}"
    cp = load_control_plane(cfg)
    with open_store(url) as store:  # what `run signals` leaves behind: incidents + PENDING outbox rows
        ReplayService(cp, store, Enforcer(cp)).replay([EXAMPLE / "scenario1" / "traffic.jsonl"])
        pending = store.outbox.list(status="PENDING", limit=100)
    assert pending
    env = {**os.environ, "SIGNAL_FACTORY_PAGERDUTY_KEY": KEY,
           "SIGNAL_FACTORY_SLACK_WEBHOOK_URL": receiver.url("/slack/T0/B0/xoxb-t0ken")}
    proc = subprocess.run([sys.executable, "-m", "signal_factory.cli.run", "alerts", "--config", str(cfg),
                           "--db", url, "--interval", "0.1", "--exit-when-idle", "1"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = [json.loads(line) for line in proc.stderr.splitlines() if '"msg": "done"' in line]
    assert done[0]["sent"] == len(pending)
    assert done[0]["pending"] == 0
    with open_store(url) as store:
        assert {n.status for n in store.outbox.list(limit=100)} == {"SENT"}
    pages = [body for path, body in receiver.received if path == "/v2/enqueue"]
    # The early-fired page, then the same alert updated with the window's final figures (no second page).
    assert [(p["event_action"], p["dedup_key"], p["routing_key"]) for p in pages] == [("trigger", "INC-1", KEY)] * 2
    assert pages[-1]["payload"]["summary"] == "[SEV-1] Contract Violation - orders:created - 89.8% failure rate"
    assert {path.split("/")[1] for path, _ in receiver.received} == {"v2", "slack", "hooks"}
    assert KEY not in proc.stderr
    assert "xoxb-t0ken" not in proc.stderr


def test_alerts_metrics_count_outcomes_and_backlog() -> None:
    pytest.importorskip("prometheus_client")
    from signal_factory.transports.kafka.metrics import AlertsMetrics

    m = AlertsMetrics()
    m.observe_round(["SENT", "SENT", "RETRY"], pending=4)
    m.observe_round(["DEAD"], pending=0)
    value = m.registry.get_sample_value
    assert value("signal_factory_notifications_total", {"outcome": "SENT"}) == 2
    assert value("signal_factory_notifications_total", {"outcome": "RETRY"}) == 1
    assert value("signal_factory_notifications_total", {"outcome": "DEAD"}) == 1
    assert value("signal_factory_notifications_total", {"outcome": "HELD"}) == 0
    assert value("signal_factory_outbox_pending") == 0
