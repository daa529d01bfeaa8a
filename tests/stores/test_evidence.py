"""EvidenceRepo: idempotent inserts, the queries the engines and RCA run, tallies and retention."""

from __future__ import annotations

from typing import Any

from signal_factory.model.evidence import PASS, WARN, Source
from signal_factory.model.tally import PassTally
from signal_factory.stores.ports import SignatureStats
from tests.stores.builders import MINUTE, ORDERS, PAYMENTS, T0, evidence

SIG = "MISSING_FIELD:customer_id"
OTHER = "TYPE_MISMATCH:total_amount"


def ids(items: list[Any]) -> list[str]:
    return [e.evidence_id for e in items]


def test_add_many_returns_only_new_ids(store: Any) -> None:
    """Re-inserting stored ids is a no-op; only the ids not seen before come back, in input order."""
    assert store.evidence.add_many([evidence("ev-2"), evidence("ev-1")]) == ["ev-2", "ev-1"]
    assert store.evidence.add_many([evidence("ev-1"), evidence("ev-3"), evidence("ev-3")]) == ["ev-3"]
    assert store.evidence.add_many([]) == []
    assert ids(store.evidence.by_dataset(ORDERS, T0, T0 + 1)) == ["ev-1", "ev-2", "ev-3"]


def test_get_round_trips_the_document(store: Any) -> None:
    """`get` returns the evidence exactly as stored, and None for an unknown id."""
    ev = evidence("ev-1", run_id="run-7")
    store.evidence.add_many([ev])
    assert store.evidence.get("ev-1") == ev
    assert store.evidence.get("ev-404") is None


def test_by_dataset_is_a_half_open_event_time_range_oldest_first(store: Any) -> None:
    """[start, end) on event time, one dataset, oldest first, optional result filter and limit."""
    store.evidence.add_many([
        evidence("ev-c", at=T0 + 2 * MINUTE), evidence("ev-a", at=T0), evidence("ev-b", at=T0 + MINUTE, result=PASS),
        evidence("ev-d", at=T0 + 3 * MINUTE), evidence("ev-p", at=T0, dataset=PAYMENTS),
    ])
    assert ids(store.evidence.by_dataset(ORDERS, T0, T0 + 3 * MINUTE)) == ["ev-a", "ev-b", "ev-c"]
    assert ids(store.evidence.by_dataset(ORDERS, T0, T0 + 3 * MINUTE, result="FAIL")) == ["ev-a", "ev-c"]
    assert ids(store.evidence.by_dataset(ORDERS, T0, T0 + 9 * MINUTE, limit=2)) == ["ev-a", "ev-b"]
    assert store.evidence.by_dataset(ORDERS, T0, T0 + 9 * MINUTE, result=WARN) == []


def test_event_time_falls_back_to_processing_time(store: Any) -> None:
    """Evidence without a source timestamp is placed at its processing `timestamp`."""
    ev = evidence("ev-1", at=T0 + 5 * MINUTE, processed_at=T0)
    ev.source = Source(topic="raw.orders.events")
    store.evidence.add_many([ev])
    assert ids(store.evidence.by_dataset(ORDERS, T0, T0 + 1)) == ["ev-1"]


def test_by_signature_finds_reason_codes_across_datasets(store: Any) -> None:
    """Evidence carrying a reason code, oldest first, optionally in one dataset."""
    store.evidence.add_many([
        evidence("ev-2", at=T0 + MINUTE, reasons=(SIG, OTHER)), evidence("ev-1", at=T0, reasons=(SIG,)),
        evidence("ev-3", at=T0, reasons=(OTHER,)), evidence("ev-4", at=T0 + 2 * MINUTE, dataset=PAYMENTS),
    ])
    assert ids(store.evidence.by_signature(SIG)) == ["ev-1", "ev-2", "ev-4"]
    assert ids(store.evidence.by_signature(SIG, dataset_urn=ORDERS)) == ["ev-1", "ev-2"]
    assert ids(store.evidence.by_signature(OTHER, limit=1)) == ["ev-3"]
    assert store.evidence.by_signature("NOPE") == []


def test_signature_stats_per_dataset(store: Any) -> None:
    """Count, first/last seen and the earliest evidence id of a signature, one row per dataset."""
    store.evidence.add_many([
        evidence("ev-3", at=T0 + 2 * MINUTE), evidence("ev-1", at=T0), evidence("ev-2", at=T0 + MINUTE),
        evidence("ev-9", at=T0 + 5 * MINUTE, dataset=PAYMENTS), evidence("ev-0", at=T0, reasons=(OTHER,)),
    ])
    assert store.evidence.signature_stats(SIG) == [
        SignatureStats(SIG, ORDERS, 3, T0, T0 + 2 * MINUTE, "ev-1"),
        SignatureStats(SIG, PAYMENTS, 1, T0 + 5 * MINUTE, T0 + 5 * MINUTE, "ev-9"),
    ]
    assert store.evidence.signature_stats(SIG, PAYMENTS) == [
        SignatureStats(SIG, PAYMENTS, 1, T0 + 5 * MINUTE, T0 + 5 * MINUTE, "ev-9")]
    assert store.evidence.signature_stats("NOPE") == []


def test_signature_last_seen_honours_before(store: Any) -> None:
    """Latest event time strictly before `before_ms`, for that dataset only; None if never seen."""
    store.evidence.add_many([evidence("ev-1", at=T0), evidence("ev-2", at=T0 + MINUTE),
                             evidence("ev-p", at=T0 + 30 * MINUTE, dataset=PAYMENTS)])
    assert store.evidence.signature_last_seen(ORDERS, SIG, T0 + 10 * MINUTE) == T0 + MINUTE
    assert store.evidence.signature_last_seen(ORDERS, SIG, T0 + MINUTE) == T0
    assert store.evidence.signature_last_seen(ORDERS, SIG, T0) is None
    assert store.evidence.signature_last_seen(ORDERS, OTHER, T0 + 10 * MINUTE) is None


def test_signature_times_are_a_range_of_one_dataset_oldest_first(store: Any) -> None:
    """(event ms, evidence id) of a signature on one dataset in [start, end), oldest first, with a limit."""
    store.evidence.add_many([evidence("ev-2", at=T0 + MINUTE, reasons=(SIG, OTHER)), evidence("ev-1", at=T0),
                             evidence("ev-3", at=T0 + 2 * MINUTE, reasons=(OTHER,)),
                             evidence("ev-p", at=T0 + MINUTE, dataset=PAYMENTS), evidence("ev-4", at=T0 + 5 * MINUTE)])
    assert store.evidence.signature_times(SIG, ORDERS, T0, T0 + 5 * MINUTE) == [(T0, "ev-1"), (T0 + MINUTE, "ev-2")]
    assert store.evidence.signature_times(SIG, ORDERS, T0 + 1, T0 + 9 * MINUTE, limit=1) == [(T0 + MINUTE, "ev-2")]
    assert store.evidence.signature_times(OTHER, PAYMENTS, T0, T0 + 9 * MINUTE) == []


def test_minute_counts_add_evidence_of_every_result_and_tallies(store: Any) -> None:
    """Records per minute in [start, end): evidence of any result plus PASS tallies; empty minutes absent."""
    store.evidence.add_many(
        [evidence("ev-1", at=T0 + 5_000), evidence("ev-2", at=T0 + 59_999, result=PASS),
         evidence("ev-3", at=T0 + 2 * MINUTE), evidence("ev-p", at=T0, dataset=PAYMENTS)],
        [PassTally(ORDERS, "2024-01-15T09:00:00.000Z", 7, "orders-svc", "v3.17"),
         PassTally(ORDERS, "2024-01-15T09:03:00.000Z", 4)])
    assert store.evidence.minute_counts(ORDERS, T0, T0 + 10 * MINUTE) == {T0: 9, T0 + 2 * MINUTE: 1, T0 + 3 * MINUTE: 4}
    assert store.evidence.minute_counts(ORDERS, T0 + MINUTE, T0 + 3 * MINUTE) == {T0 + 2 * MINUTE: 1}


def test_by_run_uses_producer_run_id_else_spark_run_id(store: Any) -> None:
    """A run's evidence is found by the producer's run id, or lineage's Spark run id when there is none."""
    store.evidence.add_many([evidence("ev-1", run_id="run-1"), evidence("ev-2", at=T0 + 1, spark_run_id="run-1"),
                             evidence("ev-3", run_id="run-2", spark_run_id="run-1"), evidence("ev-4")])
    assert ids(store.evidence.by_run("run-1")) == ["ev-1", "ev-2"]
    assert ids(store.evidence.by_run("run-2")) == ["ev-3"]
    assert ids(store.evidence.by_run("run-1", limit=1)) == ["ev-1"]


def test_tallies_add_counts_on_conflict(store: Any) -> None:
    """Tallies with the same (dataset, minute, producer, version) add up, in one batch and across batches."""
    minute = "2024-01-15T09:00:00.000Z"
    store.evidence.add_many([], [PassTally(ORDERS, minute, 5, "orders-svc", "v3.17"),
                                 PassTally(ORDERS, minute, 2, "orders-svc", "v3.17"), PassTally(ORDERS, minute, 1)])
    store.evidence.add_many([evidence("ev-1")], [PassTally(ORDERS, minute, 10, "orders-svc", "v3.17")])
    assert store.evidence.tallies(ORDERS, T0, T0 + MINUTE) == [
        PassTally(ORDERS, minute, 1), PassTally(ORDERS, minute, 17, "orders-svc", "v3.17")]
    assert store.evidence.tallies(ORDERS, T0 + MINUTE, T0 + 2 * MINUTE) == []


def test_purge_removes_old_evidence_reasons_and_tallies(store: Any) -> None:
    """Retention deletes evidence (and its reason codes) and tallies before the cutoff, counting rows removed."""
    store.evidence.add_many(
        [evidence("ev-old", at=T0), evidence("ev-new", at=T0 + 10 * MINUTE)],
        [PassTally(ORDERS, "2024-01-15T09:00:00.000Z", 4), PassTally(ORDERS, "2024-01-15T09:10:00.000Z", 4)])
    assert store.evidence.purge_older_than(T0 + 10 * MINUTE) == 2
    assert store.evidence.get("ev-old") is None
    assert ids(store.evidence.by_signature(SIG)) == ["ev-new"]
    assert store.evidence.signature_last_seen(ORDERS, SIG, T0 + 5 * MINUTE) is None
    assert [t.minute for t in store.evidence.tallies(ORDERS, 0, T0 + 60 * MINUTE)] == ["2024-01-15T09:10:00.000Z"]
    assert store.evidence.purge_older_than(T0 + 10 * MINUTE) == 0
    assert store.evidence.add_many([evidence("ev-old", at=T0)]) == ["ev-old"]


def test_by_source_finds_every_evidence_of_a_record_by_its_coordinates(store: Any) -> None:
    """The enforcer's and a processor's evidence of raw.orders.events[0]@1, oldest first; other offsets,
    partitions and evidence without an offset do not match; partition None matches any."""
    other_offset, other_partition, no_offset = evidence("ev-o"), evidence("ev-p"), evidence("ev-n")
    other_offset.source = Source(topic="raw.orders.events", partition=0, offset=2)
    other_partition.source = Source(topic="raw.orders.events", partition=3, offset=1)
    no_offset.source = Source(topic="raw.orders.events", partition=0)
    store.evidence.add_many([evidence("ev-b", at=T0 + MINUTE, dataset=PAYMENTS), evidence("ev-a"), other_offset,
                             other_partition, no_offset])
    assert ids(store.evidence.by_source("raw.orders.events", 0, 1)) == ["ev-a", "ev-b"]
    assert ids(store.evidence.by_source("raw.orders.events", None, 1)) == ["ev-a", "ev-p", "ev-b"]
    assert store.evidence.by_source("raw.inventory.events", 0, 1) == []
