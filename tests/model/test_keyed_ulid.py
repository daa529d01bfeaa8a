"""`keyed_ulid` (the table encoding) gives the same ids, byte for byte, as the original b32encode one."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from signal_factory.model.ids import keyed_ulid, ulid_timestamp_ms

_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _reference(timestamp_ms: int, key: bytes) -> str:
    """The implementation evidence ids were minted with before the table encoding (kept verbatim)."""
    digest = hashlib.blake2b(key, digest_size=10).digest()
    value = (max(timestamp_ms, 0) << 80) | int.from_bytes(digest, "big")
    return base64.b32encode(value.to_bytes(20, "big"))[6:].translate(_TO_CROCKFORD).decode("ascii")


def test_same_ids_as_the_reference_on_many_keys() -> None:
    """20,000 random keys and times (record coordinates, raw bytes, empty) give identical ids."""
    rng = random.Random(18)
    for i in range(20_000):
        ts = rng.choice([0, -5, 1705312682127, rng.randrange(2**48), rng.randrange(2**52), 2**50 - 1, 2**50])
        key = rng.choice([f"raw.orders.events\x00{i % 7}\x00{i}".encode(), rng.randbytes(rng.randrange(0, 64)), b""])
        assert keyed_ulid(ts, key) == _reference(ts, key), (ts, key)


@pytest.mark.parametrize("ts", [0, 1, 1705312682127, 2**48 - 1])
def test_time_part_round_trips(ts: int) -> None:
    """The id's first 10 characters still decode to the time it was minted with."""
    assert ulid_timestamp_ms(keyed_ulid(ts, b"k")) == ts


def test_many_distinct_times_stay_correct() -> None:
    """10,000 consecutive milliseconds give reference ids (every time-part character position changes)."""
    for ts in range(1705312682127, 1705312682127 + 10_000):
        assert keyed_ulid(ts, b"x") == _reference(ts, b"x")
