"""Store.transaction(): one unit of work across repositories, all or nothing; data outlives the process."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from signal_factory.model.tally import PassTally
from signal_factory.stores.sql import open_store
from tests.stores.builders import MINUTE, ORDERS, T0, evidence, incident, notification, signal, signal_state

MIN0 = "2024-01-15T09:00:00.000Z"


class AbortError(Exception):
    """Raised by a test to abandon its unit of work."""


def test_exception_rolls_back_evidence_tallies_and_checkpoint_together(store: Any) -> None:
    """A unit of work that raises leaves no evidence, tally, checkpoint or incident number behind."""
    def unit_of_work() -> None:
        with store.transaction():
            assert store.evidence.add_many([evidence("ev-1")], [PassTally(ORDERS, MIN0, 3)]) == ["ev-1"]
            store.checkpoints.put("orders.jsonl", 2)
            store.signals.add(signal("sig-1"))
            assert store.incidents.next_id() == "INC-1"
            assert store.evidence.get("ev-1") is not None  # the transaction reads its own writes
            raise AbortError

    store.checkpoints.put("orders.jsonl", 1)
    with pytest.raises(AbortError):
        unit_of_work()
    assert store.evidence.get("ev-1") is None
    assert store.evidence.tallies(ORDERS, T0, T0 + MINUTE) == []
    assert store.checkpoints.get("orders.jsonl") == 1
    assert store.signals.get("sig-1") is None
    assert store.incidents.next_id() == "INC-1"
    assert store.evidence.add_many([evidence("ev-1")]) == ["ev-1"]


def test_normal_exit_commits(store: Any) -> None:
    """Everything written in a transaction that ends normally is there afterwards."""
    with store.transaction():
        store.evidence.add_many([evidence("ev-1")], [PassTally(ORDERS, MIN0, 3)])
        store.checkpoints.put("orders.jsonl", 7)
    assert store.evidence.get("ev-1") is not None
    assert store.evidence.tallies(ORDERS, T0, T0 + MINUTE) == [PassTally(ORDERS, MIN0, 3)]
    assert store.checkpoints.get("orders.jsonl") == 7


def test_nested_transactions_join_the_outer_one(store: Any) -> None:
    """An inner block commits nothing by itself: a failure in the outer block undoes the inner's writes."""
    def outer() -> None:
        with store.transaction():
            with store.transaction():
                store.checkpoints.put("orders.jsonl", 5)
            assert store.checkpoints.get("orders.jsonl") == 5
            raise AbortError

    with pytest.raises(AbortError):
        outer()
    assert store.checkpoints.get("orders.jsonl") is None


def test_uncommitted_writes_are_invisible_to_other_connections(sql_url: str) -> None:
    """Another store on the same database sees a transaction's writes only once it commits."""
    with open_store(sql_url) as writer, open_store(sql_url) as reader:
        with writer.transaction():
            writer.checkpoints.put("orders.jsonl", 9)
            assert reader.checkpoints.get("orders.jsonl") is None
        assert reader.checkpoints.get("orders.jsonl") == 9
        writer.checkpoints.put("orders.jsonl", 10)  # outside a transaction: committed on return
        assert reader.checkpoints.get("orders.jsonl") == 10


def test_data_survives_close_and_reopen(sql_url: str) -> None:
    """Every repository's rows are still there after the store is closed and the database opened again."""
    with open_store(sql_url) as s:
        s.evidence.add_many([evidence("ev-1")], [PassTally(ORDERS, MIN0, 3)])
        s.signals.add(signal("sig-1"))
        s.signals.put_state(signal_state())
        s.incidents.put(incident("INC-1"))
        s.outbox.enqueue(notification("n-1"))
        s.checkpoints.put("orders.jsonl", 42)
        s.checkpoints.save_state("signals", b"\x00snapshot")
    with open_store(sql_url) as s:
        assert s.evidence.get("ev-1") == evidence("ev-1")
        assert s.evidence.tallies(ORDERS, T0, T0 + MINUTE) == [PassTally(ORDERS, MIN0, 3)]
        assert s.signals.get("sig-1") == signal("sig-1")
        assert s.signals.states() == [signal_state()]
        assert s.incidents.get("INC-1") == incident("INC-1")
        assert s.outbox.due(1.0) == [notification("n-1")]
        assert s.checkpoints.get("orders.jsonl") == 42
        assert s.checkpoints.load_state("signals") == b"\x00snapshot"


def test_threads_get_their_own_transactions(sql_url: str) -> None:
    """Concurrent units of work from several threads on one store neither mix nor fail on locks."""
    with open_store(sql_url) as s:

        def worker(n: int) -> None:
            for i in range(20):
                with s.transaction():
                    s.evidence.add_many([evidence(f"ev-{n}-{i:02d}")])
                    s.checkpoints.put(f"input-{n}", i)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [s.checkpoints.get(f"input-{n}") for n in range(4)] == [19] * 4
        assert len(s.evidence.by_dataset(ORDERS, T0, T0 + 1)) == 80


def test_a_database_error_is_one_store_failure_line_without_sql_or_values(sql_url: str) -> None:
    """A statement the database refuses ends the unit of work as a StoreFailedError: the driver's first
    line, no SQL, no parameter values (PostgreSQL's DETAIL quotes the row), and nothing of it is kept."""
    from sqlalchemy import text

    from signal_factory.errors import StoreFailedError

    def unit_of_work(s: Any) -> None:
        with s.transaction():
            s.checkpoints.put("orders.jsonl", 7)
            with s._db.write() as conn:
                conn.execute(text("INSERT INTO checkpoint (source_key, position) VALUES (:k, NULL)"),
                             {"k": "cust-secret-0001"})

    with open_store(sql_url) as s:
        with pytest.raises(StoreFailedError) as caught:
            unit_of_work(s)
        message = str(caught.value)
        kind = "NotNullViolation" if s.engine.dialect.name == "postgresql" else "IntegrityError"
        assert message.startswith(f"the database failed ({kind}: ")
        assert message.endswith("; the transaction in hand was rolled back")
        assert "\n" not in message
        for leak in ("cust-secret", "INSERT", "Failing row"):
            assert leak not in message
        assert "cust-secret" not in str(caught.value.__cause__).split("[SQL:")[1]  # hide_parameters
        assert s.checkpoints.get("orders.jsonl") is None


def test_a_data_error_reason_drops_quoted_values_and_detail_lines() -> None:
    """PostgreSQL quotes the refused value in a data error's first line: the reason keeps the words only."""
    from sqlalchemy.exc import DataError, OperationalError

    from signal_factory.stores.sql.transactions import failure_reason

    refused = DataError("INSERT ...", {"v": "x"}, ValueError('invalid input syntax for type json: "4111 1111"\n'
                                                            'DETAIL:  Token "4111" is invalid.'))
    assert failure_reason(refused) == 'ValueError: invalid input syntax for type json: "…"'
    gone = OperationalError("SELECT 1", {}, ConnectionError("\n  server closed the connection unexpectedly\nmore"))
    assert failure_reason(gone) == "ConnectionError: server closed the connection unexpectedly"
