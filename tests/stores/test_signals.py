"""SignalRepo: signals stored once by id and listed newest first; state upserted per (dataset, engine)."""

from __future__ import annotations

from typing import Any

from signal_factory.signals.model import FRESHNESS_BREACH, OK
from tests.stores.builders import MINUTE, ORDERS, PAYMENTS, T0, signal, signal_state


def test_add_is_idempotent_by_signal_id(store: Any) -> None:
    """The first add stores the signal and says True; adding the same id again changes nothing and says False."""
    first = signal("sig-1")
    assert store.signals.add(first) is True
    assert store.signals.add(signal("sig-1", revision=5)) is False
    assert store.signals.get("sig-1") == first
    assert store.signals.get("sig-404") is None


def test_list_is_newest_first_by_timestamp_then_revision(store: Any) -> None:
    """Later windows first; for the same timestamp, the higher revision (the final one) first."""
    for s in (signal("sig-a", at=T0), signal("sig-b0", at=T0 + MINUTE, provisional=True),
              signal("sig-b1", at=T0 + MINUTE, revision=1), signal("sig-c", at=T0 + 2 * MINUTE)):
        store.signals.add(s)
    assert [s.signal_id for s in store.signals.list()] == ["sig-c", "sig-b1", "sig-b0", "sig-a"]
    assert store.signals.list(limit=2)[1].revision == 1
    assert store.signals.list()[2].provisional is True


def test_list_filters_by_dataset_type_and_since(store: Any) -> None:
    """Dataset, signal type and `since_ms` (inclusive) narrow the list."""
    store.signals.add(signal("sig-1", at=T0))
    store.signals.add(signal("sig-2", at=T0 + MINUTE, dataset=PAYMENTS))
    store.signals.add(signal("sig-3", at=T0 + 2 * MINUTE, signal_type=FRESHNESS_BREACH))
    assert [s.signal_id for s in store.signals.list(dataset_urn=ORDERS)] == ["sig-3", "sig-1"]
    assert [s.signal_id for s in store.signals.list(signal_type=FRESHNESS_BREACH)] == ["sig-3"]
    assert [s.signal_id for s in store.signals.list(since_ms=T0 + MINUTE)] == ["sig-3", "sig-2"]
    assert store.signals.list(dataset_urn=PAYMENTS, signal_type=FRESHNESS_BREACH) == []


def test_put_state_upserts_by_dataset_and_key(store: Any) -> None:
    """A second put for the same (dataset, state key) replaces the first; other keys stay."""
    store.signals.put_state(signal_state())
    store.signals.put_state(signal_state(state_key="freshness"))
    store.signals.put_state(signal_state(PAYMENTS))
    latest = signal_state(state=OK, at=T0 + MINUTE)
    store.signals.put_state(latest)
    assert store.signals.get_state(ORDERS, "contract_compliance") == latest
    assert store.signals.get_state(ORDERS, "volume") is None
    assert [(s.dataset_urn, s.state_key) for s in store.signals.states()] == [
        (ORDERS, "contract_compliance"), (ORDERS, "freshness"), (PAYMENTS, "contract_compliance")]
    assert [s.state_key for s in store.signals.states(ORDERS)] == ["contract_compliance", "freshness"]
