"""What the ODCS JSON Schema check costs at load time: one contract cold and from the content cache, and
`load_control_plane` of the detection benchmark's big world (40 datasets, 15 contracts) first and again.

    .venv/bin/python -m benchmarks.bench_contract_load
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.detection.world import big_world
from signal_factory.contracts.standard import _check, _check_cached, _plain, check_standard
from signal_factory.controlplane.loader import load_control_plane

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contracts" / "orders.created.odcs.yaml"


def _ms(fn: object, repeat: int) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    plain = _plain(data)
    _check(plain)  # builds the validator once
    print(f"example contract, JSON Schema check, uncached : {_ms(lambda: _check(plain), 10):8.1f} ms (best of 10)")
    check_standard(data)
    print(f"example contract, check_standard, cached      : {_ms(lambda: check_standard(data), 200):8.3f} ms "
          "(best of 200)")
    with tempfile.TemporaryDirectory() as tmp:
        root = big_world().write(Path(tmp) / "big")
        n = len(list((root / "contracts").glob("*.odcs.yaml")))
        _check_cached.cache_clear()
        first = _ms(lambda: load_control_plane(root), 1)
        again = _ms(lambda: load_control_plane(root), 3)
    print(f"big world ({n} contracts), load_control_plane, first : {first:8.0f} ms")
    print(f"big world ({n} contracts), load_control_plane, again : {again:8.0f} ms (best of 3)")


if __name__ == "__main__":
    main()
