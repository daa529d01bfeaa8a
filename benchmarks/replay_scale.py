"""Replay at scale: records/s and peak RSS of enforce-only, replay -> SQLite and replay -> PostgreSQL.

Run through `python -m benchmarks.bench_replay --scale 50000,200000,1000000`. Each measurement runs in
a fresh process (`python -m benchmarks.replay_scale MODE FILE [URL]`), so its peak RSS
(`ru_maxrss`) is its own. Enforce-only streams the same file through the same enforcer in the same
batch size, and drops the evidence: the rate a replay is compared with.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples/orders"
BATCH = 1000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(mode: str, path: Path, url: str | None) -> dict[str, float]:
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.sources.ordered import ordered_records

    cp = load_control_plane(CONFIG)
    enforcer = build_enforcer(cp)
    started = time.perf_counter()
    if mode == "enforce":
        stream = ordered_records([path])
        records = 0
        while chunk := list(itertools.islice(stream, BATCH)):
            enforcer.process(chunk)
            records += len(chunk)
    else:
        from signal_factory.runtime.replay import ReplayService
        from signal_factory.stores.sql import open_store

        assert url is not None
        store = open_store(url)
        try:
            records = ReplayService(cp, store, enforcer).replay([path], batch_size=BATCH).records
        finally:
            store.close()
    seconds = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "rate": records / seconds, "rss_mb": _peak_rss_mb()}


def _run(mode: str, path: Path, url: str | None = None) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.replay_scale", mode, str(path), *([url] if url else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(sizes: list[int], *, postgres: bool = True) -> None:
    print(f"python {platform.python_version()} on {platform.platform()}; os.cpu_count()={os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}; batch size {BATCH}")
    server = None
    if postgres:
        from tests.fixtures_db import TempPostgres, _pg_bindir

        bindir = _pg_bindir()
        if bindir is None:
            sys.exit("no PostgreSQL binaries: run scripts/ensure-postgres.sh, or pass --no-postgres")
        server = TempPostgres(bindir)
        pg_url = server.start("bench_replay")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{'records':>10} {'mode':<18} {'records/s':>10} {'% of enforce':>13} {'peak RSS':>10}")
            for n in sizes:
                path = Path(tmp) / f"orders-{n}.jsonl"
                subprocess.run([sys.executable, "-m", "benchmarks.gen_orders", "--count", str(n), "--out", str(path)],
                               check=True, capture_output=True, cwd=ROOT)
                rows = [("enforce-only", _run("enforce", path))]
                rows.append(("replay -> SQLite", _run("replay", path, f"sqlite:///{tmp}/bench-{n}.db")))
                if server is not None:
                    import psycopg

                    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                                         autocommit=True) as conn:
                        conn.execute(f'CREATE DATABASE "bench_{n}"')
                    db_url = pg_url.rsplit("/", 1)[0] + f"/bench_{n}"
                    rows.append(("replay -> PostgreSQL", _run("replay", path, db_url)))
                base = rows[0][1]["rate"]
                for name, r in rows:
                    print(f"{n:>10,} {name:<18} {r['rate']:>10,.0f} {100 * r['rate'] / base:>12.0f}% "
                          f"{r['rss_mb']:>7.0f} MB", flush=True)
                path.unlink()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    mode, file = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(_child(mode, file, sys.argv[3] if len(sys.argv) > 3 else None)))
