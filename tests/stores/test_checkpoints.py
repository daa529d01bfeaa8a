"""CheckpointRepo: input positions and named state blobs, replaced on every put."""

from __future__ import annotations

from typing import Any


def test_checkpoint_positions_upsert(store: Any) -> None:
    """A position reads back as put, the latest put wins, unknown inputs have none."""
    assert store.checkpoints.get("orders.jsonl") is None
    store.checkpoints.put("orders.jsonl", 10)
    store.checkpoints.put("orders.jsonl", 2**40)
    store.checkpoints.put("payments.jsonl", 0)
    assert store.checkpoints.get("orders.jsonl") == 2**40
    assert store.checkpoints.get("payments.jsonl") == 0


def test_state_blobs_round_trip_bytes(store: Any) -> None:
    """Blobs come back byte for byte (NUL and high bytes too); the latest save wins."""
    assert store.checkpoints.load_state("signals") is None
    store.checkpoints.save_state("signals", b"\x00\xff first")
    blob = bytes(range(256)) * 4
    store.checkpoints.save_state("signals", blob)
    assert store.checkpoints.load_state("signals") == blob
    assert isinstance(store.checkpoints.load_state("signals"), bytes)


def test_states_named_by_prefix(store: Any) -> None:
    """`states_named` returns the blobs whose names start with the prefix, by name; `%` and `_` are literal."""
    store.checkpoints.save_state("notice:b:2", b"B2")
    store.checkpoints.save_state("notice:a:1", b"A1")
    store.checkpoints.save_state("notice:a:0", b"A0")
    store.checkpoints.save_state("noticeX", b"other")
    store.checkpoints.save_state("signals", b"engines")
    assert store.checkpoints.states_named("notice:") == [("notice:a:0", b"A0"), ("notice:a:1", b"A1"),
                                                         ("notice:b:2", b"B2")]
    assert store.checkpoints.states_named("notice:a:") == [("notice:a:0", b"A0"), ("notice:a:1", b"A1")]
    assert store.checkpoints.states_named("notice_") == []
    assert store.checkpoints.states_named("notice%") == []
