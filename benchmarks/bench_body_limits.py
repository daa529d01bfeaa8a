"""Peak server memory under a gzip bomb: `signal-factory serve` as a subprocess, one bomb per write endpoint.

    python -m benchmarks.bench_body_limits [--megabytes 1024] [--max-body-bytes 10000000] [--src DIR]

Builds a valid gzip body of `--megabytes` MiB of zeros (~1,000:1, so 1 GiB is ~1 MB on the wire),
starts the real server (default limit 10 MB) over a fresh SQLite store, posts the bomb to each write
endpoint and prints, per endpoint, the HTTP status and the server's peak RSS (`VmHWM` from
/proc/<pid>/status, Linux only). `--src` runs another checkout's code (e.g. an export of `main`) for a
before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = ("/api/v1/records", "/api/v1/evidence", "/api/v1/deployments", "/api/v1/lineage")
TOKEN = "bench-token"


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MiB of zeros as one gzip member, built from one repeated deflate block."""
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    block = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    size = (megabytes << 20) & 0xFFFFFFFF
    return header + block * megabytes + z.flush() + crc.to_bytes(4, "little") + size.to_bytes(4, "little")


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024, help="inflated size of the bomb, MiB")
    parser.add_argument("--max-body-bytes", type=int, default=10_000_000)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run (PYTHONPATH)")
    args = parser.parse_args()
    bomb = gzip_bomb(args.megabytes)
    print(f"bomb: {len(bomb):,} bytes on the wire -> {args.megabytes << 20:,} bytes inflated; "
          f"limit {args.max_body_bytes:,} bytes; code {args.src}")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(args.src), "SIGNAL_FACTORY_API_TOKEN": TOKEN,
               "SIGNAL_FACTORY_HOME": tmp}
        cmd = [sys.executable, "-c", "from signal_factory.cli.main import main; main()", "serve",
               "--config", str(ROOT / "examples/orders"), "--db", f"sqlite:///{tmp}/bench.db", "--port", "0",
               "--max-body-bytes", str(args.max_body_bytes)]
        server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=tmp, env=env)
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if not found:
                raise SystemExit(f"the server did not start: {line}{server.stderr.read()}")
            base = f"http://127.0.0.1:{found.group(1)}"
            time.sleep(0.5)
            print(f"{'endpoint':<22} {'status':>6} {'peak RSS MB':>12} {'seconds':>8}")
            print(f"{'(idle)':<22} {'':>6} {peak_rss_mb(server.pid):>12.0f}")
            with httpx.Client(base_url=base, timeout=600,
                              headers={"Authorization": f"Bearer {TOKEN}", "Content-Encoding": "gzip",
                                       "Content-Type": "application/json"}) as client:
                for path in ENDPOINTS:
                    started = time.perf_counter()
                    r = client.post(path, content=bomb)
                    took = time.perf_counter() - started
                    print(f"{path:<22} {r.status_code:>6} {peak_rss_mb(server.pid):>12.0f} {took:>8.2f}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
