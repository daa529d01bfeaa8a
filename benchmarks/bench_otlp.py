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

    python -m benchmarks.bench_otlp --mode latency [--samples 400] [--rounds 8] [--span-rate 5000]

The ingest-latency mode, side by side in one run: single-record `POST /api/v1/records` and single-evidence
`POST /api/v1/evidence` (a copy of a stored evidence with a fresh id each time), timed in three conditions
interleaved round by round (so a change in the machine's load hits all three alike): idle; with another
client posting OTLP exports back to back (the span rate it reached is printed); and, as a control, with
another client posting evidence batches (64 each), a write load that is not OTLP. The OTLP load goes
back to back (the worst case: the server does nothing else) or paced at `--span-rate`. p50/p99 per
cell. `--mode both` (the default) runs the throughput part, then this.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
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


def throughput(client: httpx.Client, bodies: list[bytes], headers: dict[str, str], total: int) -> None:
    idle = record_latency(client, 50)
    latencies = []
    started = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        client.post("/v1/traces", content=body, headers=headers).raise_for_status()
        latencies.append((time.perf_counter() - t) * 1000)
    took = time.perf_counter() - started
    with _Load(client.base_url, "/v1/traces", bodies, headers, 0):
        busy = record_latency(client, 50)
    print(f"spans/s through /v1/traces into the store: {total / took:,.0f}  ({total:,} spans in {took:.2f} s)")
    print(f"export latency p50 {_pct(latencies, 50):.1f} ms, p99 {_pct(latencies, 99):.1f} ms")
    print(f"POST /api/v1/records (1 record) latency p50: idle {_pct(idle, 50):.1f} ms, with span exports in "
          f"flight {_pct(busy, 50):.1f} ms (p99 {_pct(idle, 99):.1f} / {_pct(busy, 99):.1f} ms)")


def _timed(client: httpx.Client, path: str, body: bytes, content_type: str) -> float:
    started = time.perf_counter()
    r = client.post(path, content=body, headers={"Content-Type": content_type})
    took = (time.perf_counter() - started) * 1000
    r.raise_for_status()
    return took


class _Load:
    """Another client posting `bodies` to `path` back to back, in a thread, until stopped; counts what it sent."""

    def __init__(self, base_url: httpx.URL, path: str, bodies: list[bytes], headers: dict[str, str], per_body: int,
                 rate: float = 0.0):
        self.base_url, self.path, self.bodies, self.headers, self.per_body = base_url, path, bodies, headers, per_body
        self.interval = per_body / rate if rate > 0 else 0.0  # paced: one body every `interval` s; 0 = back to back
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=120) as other:
            i = 0
            due = time.perf_counter()
            while not self.stop.is_set():
                other.post(self.path, content=self.bodies[i % len(self.bodies)], headers=self.headers)
                self.sent += self.per_body
                i += 1
                if self.interval:
                    due += self.interval
                    self.stop.wait(max(0.0, due - time.perf_counter()))

    def __enter__(self) -> _Load:
        self.started = time.perf_counter()
        self.thread.start()
        time.sleep(0.2)  # let the first requests be in flight before timing
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(60)
        self.seconds = time.perf_counter() - self.started


def ingest_latency(client: httpx.Client, bodies: list[bytes], span_headers: dict[str, str], batch: int,
                   samples: int, rounds: int, span_rate: float) -> None:
    """p50/p99 of one-record and one-evidence ingest: idle, with OTLP exports in flight, with evidence in flight."""
    from signal_factory.model.ids import new_ulid

    client.post("/api/v1/records", content=RECORD, headers={"Content-Type": "application/x-ndjson"}).raise_for_status()
    (doc,) = client.get("/api/v1/evidence", params={"dataset": "urn:dp:orders:created", "limit": 1}).json()

    def evidence(n: int) -> bytes:
        return json.dumps([{**doc, "evidence_id": f"evd-{new_ulid()}"} for _ in range(n)]).encode()

    auth = {"Authorization": f"Bearer {TOKEN}"}
    control_bodies = [evidence(64) for _ in range(20)]
    endpoints = {"/api/v1/records": lambda: (RECORD, "application/x-ndjson"),
                 "/api/v1/evidence": lambda: (evidence(1), "application/json")}
    cells: dict[tuple[str, str], list[float]] = {}
    rate = {"otlp": [0, 0.0], "control": [0, 0.0]}
    per_round = max(1, samples // rounds)
    for _ in range(rounds):
        for condition in ("idle", "otlp", "control"):
            load = (_Load(client.base_url, "/v1/traces", bodies, span_headers, batch, span_rate)
                    if condition == "otlp" else
                    _Load(client.base_url, "/api/v1/evidence", control_bodies,
                          {**auth, "Content-Type": "application/json"}, 64, span_rate / 8)
                    if condition == "control" else None)
            with load if load is not None else contextlib.nullcontext():
                for path, make in endpoints.items():
                    for _ in range(per_round):
                        body, kind = make()
                        cells.setdefault((path, condition), []).append(_timed(client, path, body, kind))
            if load is not None:
                rate[condition][0] += load.sent
                rate[condition][1] += load.seconds
    print(f"\ningest latency, {per_round * rounds} requests per cell over {rounds} interleaved rounds "
          f"(load: {rate['otlp'][0] / rate['otlp'][1]:,.0f} spans/s of OTLP exports; control "
          f"{rate['control'][0] / rate['control'][1]:,.0f} evidence/s posted by another client)")
    print(f"{'endpoint (1 item per request)':32} {'idle p50 / p99':>18} {'+ OTLP load p50 / p99':>24} "
          f"{'+ evidence load p50 / p99':>28}")
    for path in endpoints:
        row = [cells[(path, c)] for c in ("idle", "otlp", "control")]
        print(f"{path:32} " + " ".join(f"{f'{_pct(v, 50):.1f} / {_pct(v, 99):.1f} ms':>{w}}"
                                        for v, w in zip(row, (18, 24, 28), strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--kept", type=float, default=1.0, help="share of spans that are Kafka producer spans")
    parser.add_argument("--gzip", action="store_true", help="send Content-Encoding: gzip (the exporter's option)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run (PYTHONPATH)")
    parser.add_argument("--mode", choices=("throughput", "latency", "both"), default="both",
                        help="spans/s, ingest latency with and without span load, or both")
    parser.add_argument("--samples", type=int, default=400, help="latency mode: requests per endpoint and condition")
    parser.add_argument("--rounds", type=int, default=8, help="latency mode: interleaved rounds")
    parser.add_argument("--span-rate", type=float, default=0.0,
                        help="latency mode: spans/s the OTLP load sends (0: exports back to back, the worst case); "
                             "the evidence control load is paced at 1/8 of it")
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
                if args.mode in ("throughput", "both"):
                    throughput(client, bodies, headers, total)
                if args.mode in ("latency", "both"):
                    ingest_latency(client, bodies, headers, args.batch, args.samples, args.rounds, args.span_rate)
        finally:
            server.terminate()
            server.wait(30)
        stored = sqlite3.connect(db).execute("SELECT count(*) FROM otel_spans").fetchone()[0]
    print(f"rows in otel_spans at the end: {stored:,}")


if __name__ == "__main__":
    main()
