"""Fencing epochs: a signals-stage owner that lost its lock (its database session died while the process
lived on) cannot commit even one stale batch after a new owner claimed the partition.

The advisory lock says who should write; the epoch, checked inside each store transaction, makes sure
nobody else does. On PostgreSQL the check takes the epoch row's lock, so a new owner's claim waits for
an in-flight transaction of the old one and then reads what it committed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.checkpoints import SqlCheckpointRepo
from signal_factory.stores.sql.database import SqlStore
from signal_factory.stores.sql.locks import NoPartitionLocks, OwnerLockLostError
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.signals_stage import SignalsStage, fence_key
from tests.conftest import record

ROOT = Path(__file__).resolve().parents[2]


def _repo(store: SqlStore) -> SqlCheckpointRepo:
    assert isinstance(store.checkpoints, SqlCheckpointRepo)
    return store.checkpoints


def test_claim_moves_the_epoch_and_old_epochs_stop_holding(sql_url: str) -> None:
    with open_store(sql_url) as store:
        repo = _repo(store)
        assert repo.claim("fence:t/0") == 1
        assert repo.holds("fence:t/0", 1)
        assert repo.claim("fence:t/0") == 2
        assert not repo.holds("fence:t/0", 1)
        assert repo.holds("fence:t/0", 2)
        assert repo.claim("fence:t/1") == 1  # per key
        assert not repo.holds("fence:t/2", 0)  # never claimed: nobody holds it


@pytest.mark.postgres
def test_a_claim_waits_for_the_old_owners_open_transaction(request: pytest.FixtureRequest) -> None:
    """Old owner: checked epoch 1, still writing. New owner's claim blocks until that commits; the old
    owner's next transaction then fails the check."""
    url: str = request.getfixturevalue("_pg_schema_url")
    with open_store(url) as old, open_store(url) as new:
        assert _repo(old).claim("fence:e/3") == 1
        claimed: list[tuple[int, float]] = []
        checked = threading.Event()
        release = threading.Event()

        def old_owner_batch() -> None:
            with old.transaction():
                assert _repo(old).holds("fence:e/3", 1)
                old.checkpoints.put("kafka:e/3", 500)  # the stale owner's batch
                checked.set()
                release.wait(10)

        worker = threading.Thread(target=old_owner_batch)
        worker.start()
        assert checked.wait(10)
        waiter = threading.Thread(target=lambda: claimed.append((_repo(new).claim("fence:e/3"), time.monotonic())))
        waiter.start()
        time.sleep(0.5)
        assert not claimed, "the claim did not wait for the open transaction"
        released_at = time.monotonic()
        release.set()
        worker.join(10)
        waiter.join(10)
        ((epoch, claimed_at),) = claimed
        assert epoch == 2
        assert claimed_at >= released_at
        assert new.checkpoints.get("kafka:e/3") == 500  # the new owner reads what the old one committed
        with old.transaction():
            assert not _repo(old).holds("fence:e/3", 1)


def test_a_fenced_stage_writes_nothing(sql_url: str, control_plane: ControlPlane) -> None:
    """The stage's guard inside `ingest_evidence`: after another claim, the batch rolls back whole."""
    with open_store(sql_url) as store:
        cfg = KafkaConfig(bootstrap_servers="unused:9092", group_id="g", topics=("ev", "ta"), evidence_topic="ev",
                          tally_topic="ta")
        stage = SignalsStage(control_plane, store, cfg, partition_locks=NoPartitionLocks())
        stage.scaled = True
        stage._epochs[0] = stage._claim_epoch(0)
        service = ReplayService(control_plane, store, Enforcer(control_plane), engine_state="signal-engines:ev/0")
        evidence = Enforcer(control_plane).process([record({"order_id": "o-1"}, offset=1)]).evidence
        service.ingest_evidence(evidence[:0], checkpoints={"kafka:ev/0": 1}, guard=stage._guard(0))
        assert store.checkpoints.get("kafka:ev/0") == 1

        _repo(store).claim(fence_key("ev", 0))  # another instance took partition 0 over
        with pytest.raises(OwnerLockLostError, match="fenced"):
            service.ingest_evidence(evidence, checkpoints={"kafka:ev/0": 2}, guard=stage._guard(0))
        assert store.checkpoints.get("kafka:ev/0") == 1
        assert store.evidence.get(evidence[0].evidence_id) is None
