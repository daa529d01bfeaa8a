"""Control-plane reload micro-benchmark (not a test): what a reload costs, and what it adds to a batch.

    .venv/bin/python -m benchmarks.bench_reload --runs 50

`reload`: one `ConfigReloader.reload` of `--config` (hash the watched files, `load_control_plane`,
`build_enforcer`, diff against the running config, swap), wall time per run; it runs on the watcher
thread, off the record path. `current`: the one read a stage or request makes per batch
(`reloader.current.value`), nanoseconds per read.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from signal_factory.enforcer.factory import build_enforcer
from signal_factory.runtime.reload import ConfigReloader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("examples/orders"))
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    reloader = ConfigReloader(args.config, build_enforcer)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        assert reloader.reload("bench") == "ok"
        times.append(time.perf_counter() - started)
    times.sort()
    reads = 1_000_000
    started = time.perf_counter()
    for _ in range(reads):
        _ = reloader.current.value
    per_read_ns = (time.perf_counter() - started) / reads * 1e9
    print(f"machine: {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}")
    print(f"reload of {args.config} ({args.runs} runs): median {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
    print(f"per batch (reloader.current.value): {per_read_ns:.0f} ns")


if __name__ == "__main__":
    main()
