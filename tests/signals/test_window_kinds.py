"""Window kind per dataset (`window:` in datasets.yaml): honoured by the engines, validated at load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.errors import ConfigError
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, SLIDING_15MIN, TUMBLING_5MIN, Signal
from signal_factory.stores.memory import MemoryStore
from tests.conftest import EXAMPLE
from tests.signals.builders import MINUTE, ORDERS, evidence, ms

INVENTORY = "urn:dp:inventory:updated"
T0 = ms("2024-01-15T10:00:00.000Z")
_ORDERS_TIER = ("  - urn: urn:dp:orders:created\n    name: Orders created (raw events)\n"
                "    type: kafka_topic\n    tier: 1\n")


def with_window(tmp_path: Path, value: str) -> Path:
    """A copy of the example control plane where urn:dp:orders:created says `window: <value>`."""
    root = tmp_path / "cp"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("scenario*", "records"))
    path = root / "datasets.yaml"
    text = path.read_text()
    assert _ORDERS_TIER in text
    path.write_text(text.replace(_ORDERS_TIER, _ORDERS_TIER + f"    window: {value}\n"))
    return root


def windows(signals: list[Signal], urn: str) -> list[tuple[str, str, str]]:
    return [(s.window.type, s.window.start[11:16], s.window.end[11:16]) for s in signals
            if s.signal_type == CONTRACT_BREACH and s.dataset_urn == urn and s.window is not None]


@pytest.fixture
def sliding(tmp_path: Path) -> ControlPlane:
    return load_control_plane(with_window(tmp_path, SLIDING_15MIN))


def test_a_dataset_configured_sliding_gets_sliding_windows(sliding: ControlPlane) -> None:
    """orders:created with `window: SLIDING_15MIN`: 15-minute windows every 5 minutes; inventory keeps 5-minute ones."""
    host = SignalEngineHost(sliding)
    host.add_evidence([evidence(1, T0 + 7 * MINUTE), evidence(2, T0 + 7 * MINUTE, urn=INVENTORY)])
    out = host.flush()
    assert windows(out, ORDERS) == [(SLIDING_15MIN, "09:55", "10:10"), (SLIDING_15MIN, "10:00", "10:15"),
                                    (SLIDING_15MIN, "10:05", "10:20")]
    assert windows(out, INVENTORY) == [(TUMBLING_5MIN, "10:05", "10:10")]


def test_the_state_of_a_sliding_dataset_follows_its_sliding_windows(sliding: ControlPlane) -> None:
    """The dataset's contract_compliance state is kept from its own window kind (not dropped as another kind)."""
    host = SignalEngineHost(sliding)
    host.add_evidence([evidence(i, T0 + 60_000 + i * 8_000, "FAIL") for i in range(50)])
    host.flush()
    state = next(s for s in host.states() if s.dataset_urn == ORDERS and s.state_key == "contract_compliance")
    assert state.state == "CRITICAL"
    assert state.window_end == "2024-01-15T10:20:00.000Z"


def test_the_pipeline_replays_scenario1_into_sliding_windows(sliding: ControlPlane) -> None:
    """`replay` (the pipeline behind `serve` and the Kafka signals stage too) honours the dataset's window kind."""
    store = MemoryStore()
    enforcer = build_enforcer(sliding)
    report = ReplayService(sliding, store, enforcer).replay([EXAMPLE / "scenario1" / "traffic.jsonl"])
    finals = windows([s for s in report.signals if not s.provisional], ORDERS)
    assert finals
    assert {kind for kind, _, _ in finals} == {SLIDING_15MIN}
    assert ("SLIDING_15MIN", "09:45", "10:00") in finals
    state = next(s for s in store.signals.states(ORDERS) if s.state_key == "contract_compliance")
    assert state.state == "CRITICAL"


def test_without_window_the_default_is_unchanged(control_plane: ControlPlane) -> None:
    """No `window:` key: TUMBLING_5MIN, as shipped."""
    assert control_plane.datasets[ORDERS].window is None
    host = SignalEngineHost(control_plane)
    host.add_evidence([evidence(1, T0 + 7 * MINUTE)])
    assert windows(host.flush(), ORDERS) == [(TUMBLING_5MIN, "10:05", "10:10")]


def test_a_changed_window_kind_closes_the_old_windows_and_opens_new_ones(control_plane: ControlPlane,
                                                                          sliding: ControlPlane) -> None:
    """A reload that switches the kind: windows already open finish on the old kind, new records go to the new one."""
    host = SignalEngineHost(control_plane)
    host.add_evidence([evidence(1, T0 + MINUTE)])
    restored = SignalEngineHost.restore(sliding, host.snapshot())
    out = restored.add_evidence([evidence(2, T0 + 7 * MINUTE)]) + restored.flush()
    assert windows(out, ORDERS) == [
        (TUMBLING_5MIN, "10:00", "10:05"), (SLIDING_15MIN, "09:55", "10:10"), (SLIDING_15MIN, "10:00", "10:15"),
        (SLIDING_15MIN, "10:05", "10:20")]


@pytest.mark.parametrize("value", ["SLIDING_10MIN", "sliding_15min", "BATCH_RUN"])
def test_an_unknown_window_kind_is_a_config_error_at_its_line(tmp_path: Path, value: str) -> None:
    """A bad `window:` names datasets.yaml, the line, and the kinds to choose from."""
    with pytest.raises(ConfigError) as info:
        load_control_plane(with_window(tmp_path, value))
    err = info.value
    assert err.file.endswith("datasets.yaml")
    assert err.line == 7
    assert value in str(err)
    assert err.fix is not None
    assert "TUMBLING_5MIN, TUMBLING_1HR, SLIDING_15MIN" in err.fix


def test_the_control_plane_offers_exactly_the_window_kinds_the_engines_define() -> None:
    """datasets.yaml's `window:` choices (checked by the loader) are the engines' window specs, no more."""
    from signal_factory.controlplane.model import WINDOW_KINDS
    from signal_factory.signals.windows import SPECS

    assert set(WINDOW_KINDS) == set(SPECS)
