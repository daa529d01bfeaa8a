"""Sampled-out PASS tallies count each source record once, even when the enforcer re-sends a batch.

Unit tests of the offsets a tally carries (`Enforcer.process`) and of `TallyMarks`, the signals stage's
once-only rule for them; the crash between the enforcer's flush and its offset commit is run for real
in test_kafka_pipeline_crash.py.
"""

from __future__ import annotations

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer, offset_ranges
from signal_factory.model.records import RawRecord
from signal_factory.model.tally import PassTally
from signal_factory.transports.kafka.tallies import (
    TallyMarks,
    count_above,
    decode_tally_message,
    encode_tally_messages,
    mark_key,
)
from tests.conftest import record

INVENTORY = "urn:dp:inventory:updated"
RAW = "raw.inventory.events"


def _inventory(offsets: range, partition: int | None = 0) -> list[RawRecord]:
    out = []
    for i in offsets:
        rec = record({"sku": f"SKU-{i}", "warehouse": "ams-1", "on_hand": 3}, topic=RAW, headers={}, offset=i,
                     ts=1705312682127 + i * 1000)
        out.append(msgspec.structs.replace(rec, partition=partition, offset=i if partition is not None else None))
    return out


def _tally(ranges: tuple[tuple[int, int], ...], minute: str = "2024-01-15T09:58:00.000Z", partition: int = 0,
           ) -> PassTally:
    return PassTally(INVENTORY, minute, sum(b - a + 1 for a, b in ranges), "legacy-inventory-svc", None, RAW,
                     partition, ranges)


def _count(tallies: list[PassTally]) -> int:
    return sum(t.count for t in tallies)


@pytest.mark.parametrize(("offsets", "runs"), [
    ([], ()), ([7], ((7, 7),)), ([5, 3, 4, 9], ((3, 5), (9, 9))), ([1, 1, 2], ((1, 2),)),
    ([10, 12, 14], ((10, 10), (12, 12), (14, 14))),
])
def test_offset_ranges(offsets: list[int], runs: tuple[tuple[int, int], ...]) -> None:
    assert offset_ranges(offsets) == runs


def test_enforcer_tallies_name_exactly_the_offsets_they_count(control_plane: ControlPlane) -> None:
    """Per source partition: tallied offsets + evidence offsets = every record, disjoint."""
    records = _inventory(range(600)) + _inventory(range(400), partition=3)
    batch = Enforcer(control_plane).process(records)
    assert batch.count() == 1000
    for partition, n in ((0, 600), (3, 400)):
        tallied = [o for t in batch.tallies if t.partition == partition for a, b in t.ranges for o in range(a, b + 1)]
        kept = [e.source.offset for e in batch.evidence if e.source and e.source.partition == partition]
        assert len(tallied) == len(set(tallied))
        assert sorted(tallied + kept) == list(range(n))  # type: ignore[type-var]
    assert all(t.topic == RAW and t.count == sum(b - a + 1 for a, b in t.ranges) for t in batch.tallies)
    assert len({t.minute for t in batch.tallies}) > 1  # several minutes: their offsets interleave


def test_tallies_without_offsets_carry_no_source(control_plane: ControlPlane) -> None:
    batch = Enforcer(control_plane).process(_inventory(range(50), partition=None))
    assert batch.tallies
    assert all(t.topic is None for t in batch.tallies)
    assert all(t.ranges == () for t in batch.tallies)
    assert batch.count() == 50


def test_one_message_per_dataset_and_source_partition_round_trips() -> None:
    tallies = [_tally(((1, 3),)), _tally(((4, 4),), minute="2024-01-15T09:59:00.000Z"), _tally(((0, 1),), partition=2)]
    messages = encode_tally_messages(tallies)
    assert [key for key, _ in messages] == [INVENTORY, INVENTORY]
    assert [decode_tally_message(value) for _, value in messages] == [tallies[:2], tallies[2:]]
    legacy = msgspec.json.encode(PassTally(INVENTORY, "2024-01-15T09:58:00.000Z", 4))  # older enforcers
    assert decode_tally_message(legacy) == [PassTally(INVENTORY, "2024-01-15T09:58:00.000Z", 4)]


def test_count_above() -> None:
    assert count_above(((1, 5), (8, 9)), 3) == ((4, 5), (8, 9))
    assert count_above(((1, 5), (8, 9)), 9) == ()
    assert count_above(((1, 5),), 0) == ((1, 5),)


def _marks(store: dict[str, int]) -> TallyMarks:
    return TallyMarks(store.get)


def _apply(marks: TallyMarks, store: dict[str, int], message: list[PassTally]) -> int:
    """One committed store transaction holding one message: what it counted."""
    fresh = marks.fresh(message)
    store.update(marks.checkpoints())
    marks.committed()
    return _count(fresh)


def test_exact_resend_counts_nothing_and_a_longer_one_only_the_new_offsets() -> None:
    store: dict[str, int] = {}
    marks = _marks(store)
    first = [_tally(((0, 99),)), _tally(((100, 149),), minute="2024-01-15T09:59:00.000Z")]
    assert _apply(marks, store, first) == 150
    assert _apply(marks, store, first) == 0  # the same batch again (crash between flush and commit)
    assert _apply(marks, store, [_tally(((120, 199),))]) == 50  # restarted with a bigger batch from 120
    assert store == {mark_key(INVENTORY, RAW, 0): 199}
    assert _apply(marks, store, [_tally(((0, 10),), partition=1)]) == 11  # another source partition


def test_one_batchs_interleaved_minutes_are_judged_against_the_mark_before_it() -> None:
    """Minute A counts offsets 0,2,4 and minute B 1,3,5 of the same batch: B must not be cut by A."""
    store: dict[str, int] = {}
    marks = _marks(store)
    a = _tally(((0, 0), (2, 2), (4, 4)))
    b = _tally(((1, 1), (3, 3), (5, 5)), minute="2024-01-15T09:59:00.000Z")
    assert _apply(marks, store, [a, b]) == 6
    assert _apply(marks, store, [a, b]) == 0


@pytest.mark.parametrize("zombie_first", [True, False])
def test_two_enforcers_overlapping_in_a_rebalance_count_each_offset_once(zombie_first: bool) -> None:
    store: dict[str, int] = {}
    marks = _marks(store)
    assert _apply(marks, store, [_tally(((0, 499),))]) == 500
    zombie, new_owner = [_tally(((500, 999),))], [_tally(((500, 700),))]
    order = [zombie, new_owner] if zombie_first else [new_owner, zombie]
    counted = sum(_apply(marks, store, m) for m in order)
    counted += _apply(marks, store, [_tally(((701, 1200),))])  # the new owner goes on
    assert counted == 701  # 500..1200, each once


def test_rolled_back_marks_are_forgotten_and_forget_rereads_the_store() -> None:
    store: dict[str, int] = {}
    marks = _marks(store)
    assert _count(marks.fresh([_tally(((0, 9),))])) == 10
    marks.rolled_back()  # the store transaction failed: nothing was counted
    assert _count(marks.fresh([_tally(((0, 9),))])) == 10
    marks.rolled_back()
    store[mark_key(INVENTORY, RAW, 0)] = 4  # another instance counted 0..4 meanwhile
    assert _count(marks.fresh([_tally(((0, 9),))])) == 10  # still the cached view...
    marks.rolled_back()
    marks.forget()  # ...until ownership changes and the marks are re-read
    assert _count(marks.fresh([_tally(((0, 9),))])) == 5


def test_tallies_without_a_source_pass_through() -> None:
    marks = _marks({})
    plain = PassTally(INVENTORY, "2024-01-15T09:58:00.000Z", 7)
    assert marks.fresh([plain]) == [plain]
    assert marks.fresh([plain]) == [plain]
    assert marks.checkpoints() == {}
