"""ODCS aggregate quality rules through the Kafka two-stage runtime (issue 15): the enforcer stage sends each
batch's `QualityTally`s on the tally topic with the offsets they count; the signals stage counts each offset
once (quality_tallies.py), so the windows breach exactly as in a replay of the same records, with the same
counts, even when the enforcer dies between its flush and its offset commit and re-sends a batch."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.records import RawRecord
from signal_factory.signals.model import DQ_BREACH
from signal_factory.stores.sql import open_store
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import EnforcerStage, KafkaTransportError
from signal_factory.transports.kafka.quality_tallies import above, fresh_quality
from signal_factory.transports.kafka.signals_stage import SignalsStage, stage_config
from signal_factory.transports.kafka.tallies import TallyMarks
from tests.runtime import test_quality_windows as windows
from tests.runtime.test_quality_windows import MIN, ORDERS, START, _record, _traffic
from tests.transports.conftest import GROUP_PROPS, kafka_cluster

pytestmark = pytest.mark.slow
quality_plane = windows.quality_plane  # the replay test's contract with one aggregate rule of each kind
PARTITIONS = 2
#: What a replay of `_traffic(breaches=True)` gives (tests/runtime/test_quality_windows.py): per window,
#: the final DQ_BREACH state and its breached rules with what they measured.
EXPECTED = [("10:00", "OK", []),
            ("10:05", "CRITICAL", [("QUALITY_DUPLICATE_VALUES:order_id", 6.0)]),
            ("10:10", "WARNING", [("QUALITY_MISSING_VALUES:discount_type", 15.0)]),
            ("10:15", "CRITICAL", [("QUALITY_ROW_COUNT:$", 30.0), ("QUALITY_INVALID_VALUES:currency", 5.0)]),
            ("10:20", "OK", [])]


def _plane(base: ControlPlane, raw: str) -> Path:
    """`quality_plane`'s files with the orders topic renamed to `raw` and 10% of PASS evidence kept."""
    root = Path(base.root)
    topics = root / "topics.yaml"
    topics.write_text(topics.read_text().replace("raw.orders.events", raw))
    settings = root / "signal-factory.yaml"
    settings.write_text(settings.read_text().replace("{1: 1.0,", "{1: 0.1,"))
    return root


def _produce(bootstrap: str, raw: str, records: list[dict[str, Any]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for r in records:
        h = r["headers"]
        producer.produce(raw, value=r["payload"].encode(), key=r["key"], partition=0,
                         timestamp=r["ts"], headers=[(h[i], h[i + 1].encode()) for i in range(0, len(h), 2)])
    assert producer.flush(30) == 0


class _CrashError(KafkaTransportError):
    """Stands for a kill between the enforcer's flush and its offset commit."""


def _enforce(cp: ControlPlane, bootstrap: str, raw: str, evidence: str, tallies: str, group: str, *,
             batch: int, crash_at: int | None) -> int:
    """One enforcer run until idle (or until its `crash_at`-th commit, which it skips); its records."""
    cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id=group, topics=(raw,), evidence_topic=evidence,
                      tally_topic=tallies, batch_size=batch, poll_timeout_s=0.2, properties=GROUP_PROPS)
    stage = EnforcerStage(cp, cfg)
    if crash_at is not None:
        commit, calls = stage._commit, [0]

        def crashing(consumer: Any, offsets: Any, records: int) -> bool:
            calls[0] += 1
            if calls[0] == crash_at:
                raise _CrashError("killed after the flush, before the commit")
            return commit(consumer, offsets, records)
        stage._commit = crashing  # type: ignore[method-assign]
    with contextlib.suppress(_CrashError):
        stage.run(threading.Event(), idle_exit_s=2.0)
    return stage.report.records


@pytest.fixture
def topics() -> Iterator[tuple[str, str, str, str]]:
    tag = uuid.uuid4().hex[:8]
    names = (f"sf.test.quality.{tag}.raw", f"sf.test.quality.{tag}.evidence", f"sf.test.quality.{tag}.tallies")
    # One raw partition: the records reach the engines in event-time order, as from the replay's file (two
    # partitions fetched one after the other would make one's records late for the other's windows).
    with kafka_cluster({names[0]: 1, names[1]: PARTITIONS, names[2]: PARTITIONS}) as bootstrap:
        yield (bootstrap, *names)


@pytest.mark.parametrize("crash", [False, True], ids=["clean", "enforcer-crash-resend"])
def test_aggregate_rules_breach_through_kafka_with_exact_counts(
        quality_plane: ControlPlane, topics: tuple[str, str, str, str], tmp_path: Path, crash: bool) -> None:
    """Records that breach aggregate rules, through both Kafka stages: the same DQ_BREACH windows and counts
    as a replay, though 90% of PASS evidence is sampled out and (crash) batches are re-sent, some longer."""
    bootstrap, raw, evidence, tallies = topics
    # One more record in the last window: with PASS evidence sampled out, a tallied record moves the watermark
    # by its minute only, and 10:20's first minute alone would leave 10:15 partial (its rowCount not judged).
    records = [*_traffic(breaches=True), _record(9998, START + 21 * MIN + 40_000)]
    cp = load_control_plane(_plane(quality_plane, raw))
    _produce(bootstrap, raw, records)
    group = f"sf-test-quality-{uuid.uuid4().hex[:8]}"
    first = 0
    if crash:  # batches of 20, dead at the 3rd commit; the restart takes batches of 50 from the last commit
        first = _enforce(cp, bootstrap, raw, evidence, tallies, group, batch=20, crash_at=3)
    done = _enforce(cp, bootstrap, raw, evidence, tallies, group, batch=50, crash_at=None)
    assert first + done == len(records)  # committed records, each once

    url = f"sqlite:///{tmp_path / 'signals.db'}"
    store = open_store(url)
    try:
        cfg = stage_config({"bootstrap_servers": bootstrap, "group_id": f"{group}-sig", "evidence_topic": evidence,
                            "tally_topic": tallies, "batch_size": 30,
                            "properties": [f"{k}={v}" for k, v in GROUP_PROPS.items()]})
        report = SignalsStage(cp, store, cfg, flush_when_idle_s=1.0).run(threading.Event(), idle_exit_s=4)
        finals = sorted((s for s in store.signals.list(dataset_urn=ORDERS, limit=10_000)
                         if s.signal_type == DQ_BREACH and not s.provisional),
                        key=lambda s: (s.window.start if s.window else "", s.revision))
        stored = len(store.evidence.by_dataset(ORDERS, 0, 2**62, limit=100_000))
    finally:
        store.close()
    assert report.poison == 0
    assert stored < len(records) // 2  # most PASS evidence was sampled out, yet every record counts below
    assert report.quality_rows == len(records)  # every record counted once for the aggregate rules
    if crash:
        assert report.quality_duplicates > 0, "no quality tally was re-sent: the crash window was not hit"
    else:
        assert report.quality_duplicates == 0
    got = [(s.window.start[11:16] if s.window else "", s.state,
            [(r["signature"], r["measured"]) for r in (s.details or {})["rules"] if r["breached"]]) for s in finals]
    assert got == EXPECTED


def _tally(offsets: list[int], bad: list[int], digests: list[tuple[int, int]]) -> QualityTally:
    """A tally of `offsets` (one row each), `bad` of them bad, and (digest, offset) pairs."""
    t = QualityTally(ORDERS, 0, topic="raw", partition=0, rows=len(offsets))
    for o in offsets:
        if t.ranges and t.ranges[-1][1] == o - 1:
            t.ranges[-1] = (t.ranges[-1][0], o)
        else:
            t.ranges.append((o, o))
    t.bad = {"r": len(bad)} if bad else {}
    t.bad_at = {"r": bad} if bad else {}
    t.digests = {"d": [d for d, _ in digests]}
    t.digest_at = {"d": [o for _, o in digests]}
    return t


def test_a_longer_resend_counts_only_the_rows_bad_records_and_digests_above_the_mark() -> None:
    """`above(t, mark)` keeps exactly the records with an offset above the mark, in every count."""
    t = _tally(list(range(10, 20)), [11, 15, 18], [(7, 10), (7, 14), (9, 16), (7, 19)])
    cut = above(t, 14)
    assert cut is not None
    assert (cut.rows, cut.ranges, cut.bad, cut.bad_at) == (5, [(15, 19)], {"r": 2}, {"r": [15, 18]})
    assert (cut.digests, cut.digest_at) == ({"d": [9, 7]}, {"d": [16, 19]})
    assert above(t, 19) is None
    assert above(t, 9) is t


def test_marks_drop_an_exact_resend_and_judge_one_message_against_the_mark_before_it() -> None:
    """Two interleaved tallies of one batch both count; the same message again counts nothing."""
    store: dict[str, int] = {}
    marks = TallyMarks(store.get)
    message = [_tally([0, 2, 4], [2], []), _tally([1, 3], [], [])]
    assert [t.rows for t in fresh_quality(marks, message)] == [3, 2]
    store.update(marks.checkpoints())
    marks.committed()
    assert fresh_quality(marks, message) == []
    assert fresh_quality(marks, [_tally([3, 4, 5], [5], [])])[0].bad == {"r": 1}


def test_enforcer_quality_tallies_name_their_source_offsets(quality_plane: ControlPlane) -> None:
    """Per source partition, a tally's ranges are exactly the offsets of the records it counts."""
    records = _traffic(breaches=True)[:60]
    raws = [RawRecord(topic="raw.orders.events", partition=n % 2, offset=100 + n // 2, timestamp_ms=r["ts"],
                      key=r["key"], value=r["payload"].encode(),
                      headers={r["headers"][i]: r["headers"][i + 1] for i in range(0, len(r["headers"]), 2)})
             for n, r in enumerate(records)]
    batch = Enforcer(quality_plane).process(raws)
    by_partition: dict[int, list[int]] = {}
    for t in batch.quality:
        assert t.partition is not None
        by_partition.setdefault(t.partition, []).extend(o for a, b in t.ranges for o in range(a, b + 1))
        assert t.rows == sum(b - a + 1 for a, b in t.ranges)
        assert all(len(t.digests[k]) == len(t.digest_at[k]) for k in t.digests)
    assert {p: sorted(o) for p, o in by_partition.items()} == {0: list(range(100, 130)), 1: list(range(100, 130))}
