"""`new_ulids` builds ids from a shared head and a tail table: byte-identical to encoding each id."""

from __future__ import annotations

import random
from unittest import mock

import pytest

from signal_factory.model import ids


def _reference(count: int, ms: int, start: int) -> list[str]:
    return [ids._encode(ms, start + i) for i in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_batches_equal_one_by_one_encoding(seed: int) -> None:
    """Random starts (also just below a 1024 boundary and at the top of the space), many counts."""
    rng = random.Random(seed)
    for trial in range(300):
        count = rng.choice([0, 1, 2, 1023, 1024, 1025, 2049, rng.randint(1, 3000)])
        start = rng.getrandbits(72)
        if trial % 3 == 0:
            start = (start | 1023) - rng.randint(0, 3)
        if trial % 11 == 0:
            start = 2**72 - 1
        raw = start.to_bytes(9, "big")
        ms = rng.getrandbits(48)
        with mock.patch.object(ids.os, "urandom", lambda n, raw=raw: raw[:n]):
            got = ids.new_ulids(count, ms)
        assert got == _reference(count, ms, start)


def test_ids_are_sorted_unique_and_carry_the_time() -> None:
    out = ids.new_ulids(5000, 1705312682127)
    assert out == sorted(out)
    assert len(set(out)) == 5000
    assert {ids.ulid_timestamp_ms(u) for u in out} == {1705312682127}
