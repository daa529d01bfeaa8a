"""Evidence ids: ns per `keyed_ulid` now vs the original b32encode encoding, in one run.

    python -m benchmarks.bench_ids [--count 200000]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import time
from collections.abc import Callable

from signal_factory.model.ids import keyed_ulid

_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def original(timestamp_ms: int, key: bytes) -> str:
    """The implementation before the table encoding."""
    digest = hashlib.blake2b(key, digest_size=10).digest()
    value = (max(timestamp_ms, 0) << 80) | int.from_bytes(digest, "big")
    return base64.b32encode(value.to_bytes(20, "big"))[6:].translate(_TO_CROCKFORD).decode("ascii")


def _best_ns(fn: Callable[[int, bytes], object], items: list[tuple[int, bytes]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for ts, key in items:
            fn(ts, key)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # Record coordinates as the enforcer keys them, one millisecond apart.
    items = [(1705312682127 + i, f"raw.orders.events\x00{i % 12}\x00{i}".encode()) for i in range(args.count)]
    assert all(keyed_ulid(ts, k) == original(ts, k) for ts, k in items[:10_000])
    blake = _best_ns(lambda _ts, k: hashlib.blake2b(k, digest_size=10).digest(), items, args.repeat)
    before = _best_ns(original, items, args.repeat)
    after = _best_ns(keyed_ulid, items, args.repeat)
    print(f"{args.count:,} ids, best of {args.repeat}")
    print(f"  BLAKE2b digest alone          {blake:8.0f} ns/id")
    print(f"  original (b32encode)          {before:8.0f} ns/id")
    print(f"  keyed_ulid (10-bit table)     {after:8.0f} ns/id   ({before / after:.1f}x)")


if __name__ == "__main__":
    main()
