"""`run alerts` takes a changed alerting.yaml between dispatch rounds: the next page goes where it now says."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from signal_factory.alerting.engine import AlertingEngine
from signal_factory.alerting.policy import AlertPolicy, load_alert_policy
from signal_factory.runtime.alerts import AlertsStage
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.database import SqlStore
from tests.alerting.conftest import Receiver, receiver, scenario_signal
from tests.controlplane.copies import copy_example

__all__ = ["receiver"]  # the real HTTP receiver fixture of tests/alerting
_WEBHOOK = "url: http://127.0.0.1:9000/hooks/signal-factory"


def _wait(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _incident(reloader: ConfigReloader[AlertPolicy], store: SqlStore, urn: str) -> None:
    """A SEV-1/SEV-2 incident on `urn`, as the signals stage would commit it (outbox rows per route)."""
    live = reloader.current
    engine = AlertingEngine(live.cp, live.value, store.incidents, store.outbox, clock=lambda: 1705313000.0)
    with store.transaction():
        engine.on_signal(scenario_signal(0, dataset_urn=urn, signal_id=f"sig-{urn}"))


def test_a_changed_webhook_url_is_used_from_the_next_round(tmp_path: Path, receiver: Receiver) -> None:
    """The webhook route moves from /old to /new in alerting.yaml; after the reload, the next incident goes to /new."""
    root = copy_example(tmp_path)
    path = root / "alerting.yaml"
    text = path.read_text()
    assert _WEBHOOK in text
    path.write_text(text.replace(_WEBHOOK, f"url: {receiver.url('/old')}"))
    reloader: ConfigReloader[AlertPolicy] = ConfigReloader(root, load_alert_policy)
    with open_store(f"sqlite:///{tmp_path / 'sf.db'}") as store:
        assert isinstance(store, SqlStore)
        stage = AlertsStage(store, reloader.current.value, interval_s=0.05, reloader=reloader)
        stop = threading.Event()
        worker = threading.Thread(target=stage.run, args=(stop,), daemon=True)
        worker.start()
        try:
            _incident(reloader, store, "urn:dp:orders:created")
            _wait(lambda: any(p == "/old" for p, _ in receiver.received))
            path.write_text(text.replace(_WEBHOOK, f"url: {receiver.url('/new')}"))
            assert reloader.reload("test") == "ok"
            _incident(reloader, store, "urn:dp:orders:bronze")
            _wait(lambda: any(p == "/new" for p, _ in receiver.received))
        finally:
            stop.set()
            worker.join(15)
    by_path = {p: b["incident"]["dataset_urn"] for p, b in receiver.received}
    assert by_path == {"/old": "urn:dp:orders:created", "/new": "urn:dp:orders:bronze"}
