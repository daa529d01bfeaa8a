"""Spans/s through `POST /v1/traces` into the store: `signal-factory serve` as a subprocess (one process).

    python -m benchmarks.bench_otlp [--spans 200000] [--batch 512] [--kept 1.0] [--gzip] [--src DIR]

Builds OTLP protobuf exports of `--batch` spans each (512 is the SDK's BatchSpanProcessor default),
`--kept` of them Kafka producer spans (topic/partition/offset, kept in `otel_spans`), the rest plain
server spans (read for `service.version`, then dropped); every span has its own trace id. Starts the
real server over a fresh SQLite store, posts the exports one after another (the exporter's way: one
request in flight), and prints spans/s end to end (request sent -> response read, so decode, guard,
insert and commit are all inside), the rows stored, and the p50/p99 request latency. It then posts
records to `/api/v1/records` with and without span traffic in flight and prints their latency (the
added latency to evidence ingest).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
T0_NS = 1_705_312_500_000 * 1_000_000
RECORD = (b'{"topic":"raw.orders.events","timestamp":"2024-01-15T10:06:00Z","headers":{"x-obs-producer-service":'
          b'"orders-svc","x-obs-producer-version":"v3.16"},"key":"ORD-1","value":{"event_id":"01HQX7000000000000000'
          b'99000","event_type":"orders.created.v1","timestamp":"2024-01-15T10:06:00Z","payload":{"order_id":"ORD-1",'
          b'"customer_id":"cust-1","total_amount":1.5,"currency":"USD","created_at":"2024-01-15T10:06:00Z"}}}')


def _kv(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def export(first: int, batch: int, kept: float) -> bytes:
    """One ExportTraceServiceRequest of `batch` spans numbered from `first`."""
    spans = []
    for n in range(first, first + batch):
        producer = (n % 1000) < kept * 1000
        attrs = ([_kv("messaging.system", "kafka"), _kv("messaging.destination.name", "raw.orders.events"),
                  _kv("messaging.destination.partition.id", str(n % 12)), _kv("messaging.kafka.offset", n),
                  _kv("messaging.operation.type", "publish")] if producer else
                 [_kv("http.request.method", "POST"), _kv("url.path", "/orders"),
                  _kv("http.response.status_code", 201)])
        spans.append(Span(trace_id=(n + 1).to_bytes(16, "big"), span_id=(n + 1).to_bytes(8, "big"),
                          name="raw.orders.events publish" if producer else "POST /orders",
                          kind=Span.SPAN_KIND_PRODUCER if producer else Span.SPAN_KIND_SERVER,
                          start_time_unix_nano=T0_NS + n * 1000, end_time_unix_nano=T0_NS + n * 1000 + 2_000_000,
                          attributes=attrs, status=Status(code=Status.STATUS_CODE_UNSET)))
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    rs.resource.attributes.extend([_kv("service.name", "orders-svc"), _kv("service.version", "v3.16")])
    return ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else values[0]


def record_latency(client: httpx.Client, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        r = client.post("/api/v1/records", content=RECORD, headers={"Content-Type": "application/x-ndjson"})
        out.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--kept", type=float, default=1.0, help="share of spans that are Kafka producer spans")
    parser.add_argument("--gzip", action="store_true", help="send Content-Encoding: gzip (the exporter's option)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run (PYTHONPATH)")
    args = parser.parse_args()
    bodies = [export(i, args.batch, args.kept) for i in range(0, args.spans, args.batch)]
    if args.gzip:
        bodies = [gzip.compress(b, 1) for b in bodies]
    total = len(bodies) * args.batch
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-protobuf",
               **({"Content-Encoding": "gzip"} if args.gzip else {})}
    print(f"{total:,} spans in {len(bodies)} exports of {args.batch} ({args.kept:.0%} Kafka producer spans), "
          f"{sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB each{' gzip' if args.gzip else ''}; code {args.src}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        env = {**os.environ, "PYTHONPATH": str(args.src), "SIGNAL_FACTORY_API_TOKEN": TOKEN,
               "SIGNAL_FACTORY_HOME": tmp}
        cmd = [sys.executable, "-c", "from signal_factory.cli.main import main; main()", "serve",
               "--config", str(ROOT / "examples/orders"), "--db", f"sqlite:///{db}", "--port", "0"]
        server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=tmp, env=env)
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if not found:
                raise SystemExit(f"the server did not start: {line}{server.stderr.read()}")
            with httpx.Client(base_url=f"http://127.0.0.1:{found.group(1)}", timeout=120,
                              headers={"Authorization": f"Bearer {TOKEN}"}) as client:
                for body in bodies[:2]:  # warm-up (first connection, first insert); counted below again is fine
                    client.post("/v1/traces", content=body, headers=headers).raise_for_status()
                idle = record_latency(client, 50)
                latencies = []
                started = time.perf_counter()
                for body in bodies:
                    t = time.perf_counter()
                    client.post("/v1/traces", content=body, headers=headers).raise_for_status()
                    latencies.append((time.perf_counter() - t) * 1000)
                took = time.perf_counter() - started
                busy: list[float] = []
                stop = threading.Event()

                def spans_in_flight() -> None:
                    with httpx.Client(base_url=client.base_url, timeout=120) as other:
                        i = 0
                        while not stop.is_set():
                            other.post("/v1/traces", content=bodies[i % len(bodies)], headers=headers)
                            i += 1

                feeder = threading.Thread(target=spans_in_flight, daemon=True)
                feeder.start()
                busy = record_latency(client, 50)
                stop.set()
                feeder.join(60)
        finally:
            server.terminate()
            server.wait(30)
        stored = sqlite3.connect(db).execute("SELECT count(*) FROM otel_spans").fetchone()[0]
    print(f"spans/s through /v1/traces into the store: {total / took:,.0f}  ({total:,} spans in {took:.2f} s)")
    print(f"rows in otel_spans: {stored:,}; export latency p50 {_pct(latencies, 50):.1f} ms, "
          f"p99 {_pct(latencies, 99):.1f} ms")
    print(f"POST /api/v1/records (1 record) latency p50: idle {_pct(idle, 50):.1f} ms, with span exports in "
          f"flight {_pct(busy, 50):.1f} ms (p99 {_pct(idle, 99):.1f} / {_pct(busy, 99):.1f} ms)")


if __name__ == "__main__":
    main()
