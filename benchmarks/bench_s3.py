"""S3 object ingest: rows/s through `S3ObjectIngester.handle_notification`, against the same rows as records.

    .venv/bin/python -m benchmarks.bench_s3                      # a 20,000-row JSON-lines object, best of 3
    .venv/bin/python -m benchmarks.bench_s3 --rows 100000 --repeat 1

The object is served from memory (an in-process `S3Client`: no network, so the figure is our code's):
the raw-event envelopes `benchmarks.gen_orders` makes (~10.5% FAIL). Two timings, one thread:

* **S3 object**: notification -> GET -> split into rows -> one record per row through the enforcer's five
  gates (every row kept, no sampling) -> the evidence's source names the object and row, guarded;
* **as records**: the same rows as plain records of the topic, through `Enforcer.process` (sampling off),
  the record path's cost for the same content.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.gen_orders import generate
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.ingest.s3 import S3ObjectIngester
from signal_factory.model.records import RawRecord
from signal_factory.settings import Settings

EXAMPLE = "examples/orders"


class _MemoryS3:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def get_object(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.body), "ContentLength": len(self.body), "ETag": '"0f3a9c"',
                "LastModified": datetime.now(UTC), "Metadata": {}}


def _rows(n: int) -> list[dict[str, Any]]:
    """The raw-event envelopes of `gen_orders` (what a service would write to a file instead of a topic)."""
    return [json.loads(json.loads(line)["payload"]) for line in generate(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cp = load_control_plane(EXAMPLE)
    rows = _rows(args.rows)
    body = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    note = json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                    "eventTime": "2024-01-15T10:00:00.000Z",
                                    "s3": {"bucket": {"name": "landing"},
                                           "object": {"key": "orders/bench.jsonl", "eTag": "0f3a9c"}}}]})
    enforcer = build_enforcer(cp, Settings())
    ingester = S3ObjectIngester(cp, None, _MemoryS3(body), enforcer=enforcer)
    records = [RawRecord(topic="raw.orders.events", value_obj=r, origin=f"bench:{i}",
                         timestamp_ms=int(time.time() * 1000)) for i, r in enumerate(rows)]
    best_s3 = best_rec = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        evidence = ingester.handle_notification(note)
        best_s3 = min(best_s3, time.perf_counter() - t0)
        t0 = time.perf_counter()
        batch = enforcer.process(records, sample=False)
        best_rec = min(best_rec, time.perf_counter() - t0)
    assert len(evidence) == len(rows) == len(batch.evidence)
    failed = sum(e.validation.result == "FAIL" for e in evidence)
    print(f"rows: {len(rows):,} ({len(body) / 1e6:.1f} MB JSON lines), {failed:,} FAIL evidence")
    print(f"S3 object   : {len(rows) / best_s3:>10,.0f} rows/s   ({best_s3 * 1000:,.0f} ms, best of {args.repeat})")
    print(f"as records  : {len(rows) / best_rec:>10,.0f} rows/s   ({best_rec * 1000:,.0f} ms)")


if __name__ == "__main__":
    main()
