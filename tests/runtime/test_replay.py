"""The embedded pipeline over Scenario 1: enforce -> evidence store -> signals -> incidents, on every store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.model import Signal
from signal_factory.stores.memory import MemoryStore
from signal_factory.stores.ports import Store
from tests.conftest import EXAMPLE
from tests.runtime.rollback import write_rollback_traffic

TRAFFIC = EXAMPLE / "scenario1" / "traffic.jsonl"


class _CrashError(RuntimeError):
    pass


class _CrashingEnforcer(Enforcer):
    """Dies on its n-th batch, like a process killed mid-stream."""

    def __init__(self, cp: ControlPlane, crash_on: int) -> None:
        super().__init__(cp)
        self.calls = 0
        self.crash_on = crash_on

    def process(self, records: Sequence[RawRecord | MalformedInput]) -> EnforceBatch:
        self.calls += 1
        batch = super().process(records)
        if self.calls == self.crash_on:
            raise _CrashError("killed")
        return batch


def _encoded(store: Store) -> list[bytes]:
    return [msgspec.json.encode(s) for s in store.signals.list(limit=1000)]


def test_scenario1_signal_and_incident(control_plane: ControlPlane, store: Store) -> None:
    """Scenario 1: CRITICAL CONTRACT_BREACH at 0.102 over 1,247 records, one SEV-1 incident naming v3.17."""
    report = ReplayService(control_plane, store, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    assert report.records == 1247
    assert report.new_evidence == 1247
    finals = [s for s in store.signals.list(dataset_urn="urn:dp:orders:created", signal_type="CONTRACT_BREACH")
              if not s.provisional]
    (final,) = finals
    assert final.state == "CRITICAL"
    assert final.metrics["evidence_count"] == 1247
    assert final.metrics["fail_count"] == 1120
    assert round(final.metrics["compliance_rate"], 3) == 0.102
    assert (final.window is not None and final.window.start, final.window.end) == (
        "2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z")
    top = final.top_failures[0]
    assert (top.signature, top.count, top.producer, top.producer_version) == (
        "MISSING_FIELD:customer_id", 1120, "orders-svc", "v3.17")
    (incident,) = store.incidents.list()
    assert incident.severity == "SEV-1"
    assert incident.title == "Contract Violation - orders:created - MISSING_FIELD:customer_id"
    assert incident.suspected_producer is not None
    assert (incident.suspected_producer.service, incident.suspected_producer.version) == ("orders-svc", "v3.17")
    assert incident.evidence_summary is not None
    assert incident.evidence_summary.failure_rate == "89.8%"
    assert incident.primary_trace_id == "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"
    assert incident.impact is not None
    assert incident.impact.downstream_consumers == ["finance-pipeline", "analytics-dashboard", "crm-sync"]
    state = store.signals.get_state("urn:dp:orders:created", "contract_compliance")
    assert state is not None
    assert (state.state, state.failure_signature, state.top_producer_version) == (
        "CRITICAL", "MISSING_FIELD:customer_id", "v3.17")


def test_early_firing_pages_within_seconds_of_the_first_failure(control_plane: ControlPlane) -> None:
    """A provisional CRITICAL fires within a second (event time) of the first failure, long before 10:00."""
    store = MemoryStore()
    ReplayService(control_plane, store, Enforcer(control_plane)).replay([TRAFFIC], batch_size=50)
    early = sorted((s for s in store.signals.list(signal_type="CONTRACT_BREACH") if s.provisional),
                   key=lambda s: s.timestamp)
    assert early
    assert early[0].state == "CRITICAL"
    assert "2024-01-15T09:58:02.127Z" <= early[0].timestamp < "2024-01-15T09:58:03.127Z"


def test_same_input_twice_counts_once(control_plane: ControlPlane, store: Store) -> None:
    """Replaying the same file into the same store adds no evidence, signals or incidents."""
    ReplayService(control_plane, store, Enforcer(control_plane)).replay([TRAFFIC])
    before = _encoded(store)
    again = ReplayService(control_plane, store, Enforcer(control_plane)).replay([TRAFFIC])
    assert (again.skipped, again.new_evidence, again.signals) == (1247, 0, [])
    assert _encoded(store) == before
    assert len(store.incidents.list()) == 1


@pytest.mark.parametrize("crash_on", [2, 7, 12])
def test_crash_mid_replay_then_restart_equals_an_uninterrupted_run(control_plane: ControlPlane, store: Store,
                                                                  crash_on: int) -> None:
    """A kill mid-stream and a restart from the same store give exactly the uninterrupted run's signals."""
    reference = MemoryStore()
    ReplayService(control_plane, reference, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    with pytest.raises(_CrashError):
        ReplayService(control_plane, store, _CrashingEnforcer(control_plane, crash_on)).replay([TRAFFIC],
                                                                                              batch_size=100)
    resumed = ReplayService(control_plane, store, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    assert resumed.skipped == (crash_on - 1) * 100
    assert _encoded(store) == _encoded(reference)
    total = len(store.evidence.by_dataset("urn:dp:orders:created", 0, 2**62, limit=10_000))
    assert total == 1247
    assert len(store.incidents.list()) == 1


def _graph(store: Store) -> tuple[list[bytes], list[bytes]]:
    return (sorted(msgspec.json.encode(n) for n in store.graph.iter_nodes()),
            sorted(msgspec.json.encode(e) for e in store.graph.iter_edges()))


@pytest.mark.parametrize("crash_on", [2, 3, 4, 5])
def test_a_crash_between_deploy_and_rollback_leaves_the_uninterrupted_graph(control_plane: ControlPlane,
                                                                            store: Store, tmp_path: Path,
                                                                            crash_on: int) -> None:
    """v3.16 -> v3.17 (inferred deploy) -> back to v3.16, with a crash anywhere in between: the restart's graph
    is the uninterrupted run's, node for node and edge for edge (no spurious Deployment of v3.16)."""
    traffic = write_rollback_traffic(tmp_path / "rollback.jsonl", per_phase=100)
    reference = MemoryStore()
    ReplayService(control_plane, reference, Enforcer(control_plane)).replay([traffic], batch_size=50)
    assert reference.graph.node("Deployment:orders-svc:v3.17") is not None
    assert reference.graph.node("Deployment:orders-svc:v3.16") is None
    with pytest.raises(_CrashError):
        ReplayService(control_plane, store, _CrashingEnforcer(control_plane, crash_on)).replay([traffic],
                                                                                              batch_size=50)
    resumed = ReplayService(control_plane, store, Enforcer(control_plane)).replay([traffic], batch_size=50)
    assert resumed.skipped == (crash_on - 1) * 50
    assert _graph(store) == _graph(reference)
    assert _encoded(store) == _encoded(reference)


def test_replays_are_deterministic_across_stores(control_plane: ControlPlane) -> None:
    """Two independent replays of the same input produce byte-identical signals."""
    a, b = MemoryStore(), MemoryStore()
    ReplayService(control_plane, a, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    ReplayService(control_plane, b, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    assert _encoded(a) == _encoded(b)


def test_signals_do_not_depend_on_batch_boundaries(control_plane: ControlPlane) -> None:
    """The same input cut into batches of 1, 50 and 1,000 yields the same signals (as Kafka polls would)."""
    runs = []
    for size in (1, 50, 1000):
        st = MemoryStore()
        ReplayService(control_plane, st, Enforcer(control_plane)).replay([TRAFFIC], batch_size=size)
        runs.append(_encoded(st))
    assert runs[0] == runs[1] == runs[2]


class _FlakyPublisher:
    """A signals topic that fails its n-th publish (a broker outage), then recovers."""

    def __init__(self, fail_on: int) -> None:
        self.calls = 0
        self.fail_on = fail_on
        self.published: list[str] = []

    def __call__(self, signals: Sequence[Signal]) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise _CrashError("broker down")
        self.published.extend(s.signal_id for s in signals)


def test_a_failed_publish_rolls_the_batch_back_and_the_restart_publishes_it(control_plane: ControlPlane,
                                                                           store: Store) -> None:
    """Signals are published inside the unit of work: none is lost when the publish fails, and the restart
    publishes exactly the uninterrupted run's signals (same ids), each once in the end."""
    reference = MemoryStore()
    ReplayService(control_plane, reference, Enforcer(control_plane)).replay([TRAFFIC], batch_size=100)
    flaky = _FlakyPublisher(fail_on=2)
    with pytest.raises(_CrashError):
        ReplayService(control_plane, store, Enforcer(control_plane), publish=flaky).replay([TRAFFIC], batch_size=100)
    stored_before = {s.signal_id for s in store.signals.list(limit=1000)}
    assert stored_before == set(flaky.published)  # what is stored was published; the failed unit neither
    ReplayService(control_plane, store, Enforcer(control_plane), publish=flaky).replay([TRAFFIC], batch_size=100)
    assert _encoded(store) == _encoded(reference)
    assert sorted(flaky.published) == sorted(s.signal_id for s in reference.signals.list(limit=1000))


def test_an_evidence_and_its_resent_copy_in_one_batch_count_once(control_plane: ControlPlane, store: Store) -> None:
    """An enforcer that crashed between flush and commit re-sends evidence right behind the original, so
    one consumed batch may hold both copies: stored once, and counted once by the engines."""
    from signal_factory.sources.jsonlines import read_lines

    records = list(read_lines(TRAFFIC.read_bytes().splitlines(), str(TRAFFIC)))
    evidence = Enforcer(control_plane).process(records).evidence
    doubled = [e for pair in zip(evidence, evidence, strict=True) for e in pair]
    service = ReplayService(control_plane, store, Enforcer(control_plane))
    report = service.ingest_evidence(doubled)
    assert report.new_evidence == 1247
    finals = [s for s in service.flush_windows().signals if s.signal_type == "CONTRACT_BREACH"]
    assert [(s.metrics["evidence_count"], s.metrics["fail_count"]) for s in finals] == [(1247, 1120)]
