"""Evidence-guard micro-benchmark (not a test): CPU microseconds per evidence of `guard_evidence` alone.

    .venv/bin/python -m benchmarks.bench_guard --count 20000

What the Kafka signals stage does to every evidence it reads, without Kafka or the store. Two inputs:
"ours" is the evidence our enforcer makes for N generated order records (the bench_kafka_signals input,
decoded outside the timing); "hostile" is the same evidence with a distinct PII value in a reason code,
a gate's details, the producer version and the source topic of each (nothing repeats, every string is
guarded the long way). `decode_evidence` of the same bytes is printed for scale. CPU time, best of
`--repeat`; the first run is the cold one (empty memos), the best is warm.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import msgspec

from benchmarks.bench_kafka_signals import _evidence
from signal_factory.enforcer.inflows import guard_evidence
from signal_factory.model.evidence import decode_evidence


def _hostile(raw: list[bytes]) -> list[bytes]:
    out = []
    for i, value in enumerate(raw):
        doc: dict[str, Any] = msgspec.json.decode(value)
        ssn = f"{100 + i % 800:03d}-{10 + i % 89:02d}-{1000 + i % 8999:04d}"
        doc["validation"]["reason_codes"].append(f"UNKNOWN_ENUM:discount_type:{ssn}")
        doc["validation"]["gates"][0]["details"]["note"] = f"call 415-555-{i % 10000:04d}"
        doc["producer"]["version"] = f"4000{i:012d}"
        doc["source"]["topic"] = f"raw.{ssn}"
        out.append(msgspec.json.encode(doc))
    return out


def _cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first, best) CPU seconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return times[0], min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    ours = [value for _, value in _evidence(args.count)]
    print(f"{'input':10} {'evidence':>9} {'decode us/ev':>13} {'guard us/ev cold':>17} {'warm':>6}  unchanged")
    for name, raw in (("ours", ours), ("hostile", _hostile(ours))):
        evs = [decode_evidence(v) for v in raw]
        _, decode = _cpu(lambda raw=raw: [decode_evidence(v) for v in raw], args.repeat)  # type: ignore[misc]
        cold, warm = _cpu(lambda evs=evs: [guard_evidence(e) for e in evs], args.repeat)  # type: ignore[misc]
        same = sum(guard_evidence(e) == e for e in evs)
        n = len(evs)
        print(f"{name:10} {n:>9,} {decode / n * 1e6:>13.2f} {cold / n * 1e6:>17.2f} {warm / n * 1e6:>6.2f}  "
              f"{same:,} of {n:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
