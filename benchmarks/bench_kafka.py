"""Kafka enforcer benchmark (not a test): records/s through 1 and 2 `run enforcer` processes, and
record -> evidence latency p50/p99, on a real Apache Kafka broker (one KRaft node,
tests/transports/kafka_broker.py; jars from scripts/ensure-kafka.sh) and on librdkafka's mock cluster
(tests/transports/kafka_mock.py), both in the same run unless --broker picks one.

    .venv/bin/python -m benchmarks.bench_kafka --count 200000 [--broker kafka|mock|both]

Throughput: N generated order events (benchmarks/gen_orders.py) are produced to `raw.orders.events`
(8 partitions; produce time reported separately), then `python -m signal_factory.cli.run enforcer
--exit-when-idle ...` runs as 1 process, then as 2 processes in one group, each from the start of the
topic. Wall time = process launch -> the group's committed offsets equal the high watermarks (polled
every 20 ms), so it includes interpreter start-up; "steady" excludes it (first commit -> last commit).

Latency: one enforcer process on a fresh cluster; records produced at a steady rate, each with its
send time in header `x-bench-sent-ns`; a consumer on the evidence topic computes evidence arrival -
send time for every record that got its own evidence (sampled-out PASS records only reach a tally).
Run twice: default poll timeout (0.5 s) and `SIGNAL_FACTORY_KAFKA_POLL_TIMEOUT_S=0.005`, because
`Consumer.consume(n, timeout)` waits for n records OR the timeout, so at moderate rates the batch
fill time, not the gates, dominates latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from tests.transports.kafka_broker import KafkaBroker
from tests.transports.kafka_mock import MockKafka

from benchmarks.gen_orders import generate
from signal_factory.model.evidence import decode_evidence

ROOT = Path(__file__).resolve().parents[1]
NOTE = """\
limits (read before comparing with the targets: >= 100k records/s per process, p99 < 20 ms):
  * the real broker is one KRaft node (broker + controller in one JVM, -Xmx384m, no replication, acks from
    one log) on the same 2 cores as everything else: a floor for a cluster, not a cluster's figure.
  * 2 cores are shared by the mock broker (its own process, one I/O thread per broker), the producer or
    reader in this script and 1-2 enforcer processes; with 2 enforcers every core is oversubscribed, so
    the 2-process figure measures contention, not scale-out. A real cluster runs on other machines.
  * librdkafka's mock cluster is a test double: in-memory log, no replication, one thread; its Fetch does
    not wake when data arrives (it waits fetch.wait.max.ms), so latency at moderate rates is ~ the fetch
    wait unless the consumer sets -X fetch.wait.max.ms low (a real broker answers as soon as data lands).
    Its group coordinator delays the first join by ~3 s (group.initial.rebalance.delay.ms), included in
    "wall"; "steady" starts at the first commit.
  * the stage is at-least-once by default: per batch it produces, flush()es (waits for every ack) and
    commits synchronously, one thread; throughput is the Python enforcer + this round trip per batch."""
RAW = "raw.orders.events"
#: librdkafka's mock broker keeps ~5 MB per partition and trims older messages beyond that (they are
#: gone before the enforcer starts), so the records are spread round-robin over enough partitions to
#: keep each under ~3 MB at 200k records; the rates count only what the topic still held (low..high).
PARTITIONS = 48
GROUP_PROPS = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"]


@contextmanager
def cluster(kind: str, topics: dict[str, int]) -> Iterator[str]:
    """Bootstrap servers of a fresh cluster of `kind` ("kafka": a real KRaft node; "mock") holding `topics`."""
    if kind == "mock":
        with MockKafka(topics) as mock:
            yield mock.bootstrap
        return
    with KafkaBroker() as broker:
        broker.create_topics(topics)
        yield broker.bootstrap


def _produce(bootstrap: str, lines: list[bytes]) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000,
                         "queue.buffering.max.messages": 500000, "enable.idempotence": True})
    t0 = time.perf_counter()
    for i, raw in enumerate(lines):
        d = json.loads(raw)
        h = d["headers"]
        while True:
            try:
                producer.produce(RAW, value=d["payload"].encode(), key=d["key"], partition=i % PARTITIONS,
                                 timestamp=d["ts"], headers=[(h[i], h[i + 1].encode()) for i in range(0, len(h), 2)])
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(120) == 0
    return time.perf_counter() - t0


def watermarks(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts}
    finally:
        c.close()


def _enforcer_cmd(bootstrap: str, group: str, evidence_topic: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "signal_factory.cli.run", "enforcer", "--config", str(ROOT / "examples/orders"),
            "--bootstrap-servers", bootstrap, "--group-id", group, "--topics", RAW,
            "--evidence-topic", evidence_topic, "--tally-topic", f"{evidence_topic}.tallies",
            "--log-level", "warning", *GROUP_PROPS, *extra]


def _throughput(bootstrap: str, n: int, processes: int, batch_size: int) -> dict[str, float]:
    group = f"bench-{processes}p-{uuid.uuid4().hex[:6]}"
    marks = watermarks(bootstrap, RAW)
    high = {p: hi for p, (_lo, hi) in marks.items()}
    available = sum(hi - lo for lo, hi in marks.values())
    if available < n:
        print(f"  note: the broker trimmed {n - available:,} of {n:,} records; rates count {available:,}")
    n = available
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    tps = [TopicPartition(RAW, p) for p in high]
    cmd = _enforcer_cmd(bootstrap, group, f"bench.evidence.{processes}p", "--exit-when-idle", "10",
                        "--batch-size", str(batch_size))
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL) for _ in range(processes)]
    first = done = None
    try:
        while done is None:
            got = {tp.partition: tp.offset for tp in watcher.committed(tps, timeout=10)}
            now = time.perf_counter()
            if first is None and any(o >= 0 for o in got.values()):
                first = now
            if all(got.get(p, -1) >= h for p, h in high.items()):
                done = now
                break
            if all(p.poll() is not None for p in procs):
                raise RuntimeError(f"enforcer(s) exited before committing everything: {got} vs {high}")
            time.sleep(0.02)
    finally:
        watcher.close()
        for p in procs:
            p.wait(120)
    wall = done - t0
    steady = done - (first or t0)
    return {"wall_s": wall, "wall_rps": n / wall, "steady_s": steady, "steady_rps": n / steady}


def _latency(kind: str, count: int, rate: float, env: dict[str, str], extra: tuple[str, ...] = ()) -> dict[str, float]:
    with cluster(kind, {RAW: 4, "bench.lat.evidence": 4, "bench.lat.evidence.tallies": 1}) as bootstrap:
        proc = subprocess.Popen(_enforcer_cmd(bootstrap, "bench-lat", "bench.lat.evidence", *extra), cwd=ROOT,
                                stdout=subprocess.DEVNULL, env={**os.environ, **env})
        ev = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-lat-reader", "enable.auto.commit": False,
                       "fetch.wait.max.ms": 1})
        ev.assign([TopicPartition("bench.lat.evidence", p, OFFSET_BEGINNING) for p in range(4)])
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": True})
        sent: dict[tuple[int, int], int] = {}

        def send(d: dict[str, str], sent_ns: int) -> None:
            def delivered(err: object, msg: object) -> None:  # the delivery report gives the offset
                if err is None:
                    sent[(msg.partition(), msg.offset())] = sent_ns  # type: ignore[attr-defined]

            producer.produce(RAW, value=d["payload"].encode(), key=d["key"],
                             headers=[("x-bench-sent-ns", str(sent_ns).encode())], on_delivery=delivered)

        lines = [json.loads(b) for b in generate(count + 200, seed=99)]
        lat: list[float] = []
        try:
            # warm-up: the enforcer joins the group and has its assignment before the measured records
            for d in lines[:200]:
                send(d, 0)
            producer.flush(30)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not ev.consume(100, 0.2):
                pass
            sent.clear()
            interval = 1.0 / rate
            start = time.perf_counter()
            for i, d in enumerate(lines[200:]):
                target = start + i * interval
                while (now := time.perf_counter()) < target:
                    producer.poll(0)
                    for m in ev.consume(100, 0):
                        _arrived(m, sent, lat)
                    time.sleep(min(0.0005, max(0.0, target - now)))
                send(d, time.time_ns())
                producer.poll(0)
            producer.flush(30)
            quiet = time.monotonic()
            while time.monotonic() - quiet < 3.0:
                msgs = ev.consume(500, 0.1)
                for m in msgs:
                    _arrived(m, sent, lat)
                if msgs:
                    quiet = time.monotonic()
        finally:
            ev.close()
            proc.terminate()
            proc.wait(30)
    lat.sort()
    return {"measured": len(lat), "p50_ms": _pct(lat, 0.50), "p99_ms": _pct(lat, 0.99),
            "mean_ms": statistics.fmean(lat) if lat else float("nan")}


def _arrived(m: object, sent: dict[tuple[int, int], int], out: list[float]) -> None:
    now = time.time_ns()
    if m.error() is not None:  # type: ignore[attr-defined]
        return
    src = decode_evidence(m.value()).source  # type: ignore[attr-defined]
    if src is None:
        return
    t = sent.get((src.partition, src.offset))
    if t:
        out.append((now - t) / 1e6)


def _pct(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _run(kind: str, args: argparse.Namespace, lines: list[bytes]) -> None:
    name = "Apache Kafka (one KRaft node)" if kind == "kafka" else "librdkafka's mock cluster"
    print(f"== {name}")
    with cluster(kind, {RAW: PARTITIONS, **{f"bench.evidence.{p}p": PARTITIONS for p in (1, 2)},
                        **{f"bench.evidence.{p}p.tallies": 1 for p in (1, 2)}}) as bootstrap:
        secs = _produce(bootstrap, lines)
        print(f"produce: {args.count:,} records in {secs:.2f} s = {args.count / secs:,.0f} records/s "
              f"(one Python producer, {PARTITIONS} partitions)")
        for procs in (1, 2):
            r = _throughput(bootstrap, args.count, procs, args.batch_size)
            print(f"enforcer x{procs} (batch {args.batch_size}): wall {r['wall_s']:.2f} s = {r['wall_rps']:,.0f} "
                  f"records/s total; steady (first->last commit) {r['steady_s']:.2f} s = "
                  f"{r['steady_rps']:,.0f} records/s total, {r['steady_rps'] / procs:,.0f} per process")
    fast = {"SIGNAL_FACTORY_KAFKA_POLL_TIMEOUT_S": "0.005"}
    for label, env, extra in (("defaults: poll timeout 0.5 s, fetch.wait.max.ms 500", {}, ()),
                              ("poll timeout 5 ms", fast, ()),
                              ("poll timeout 5 ms, -X fetch.wait.max.ms=5 -X linger.ms=0", fast,
                               ("-X", "fetch.wait.max.ms=5", "-X", "linger.ms=0"))):
        r = _latency(kind, args.latency_count, args.latency_rate, env, extra)
        print(f"latency ({label}; {args.latency_count:,} records at {args.latency_rate:,.0f}/s, "
              f"{r['measured']:,} with their own evidence): p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
              f"mean {r['mean_ms']:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--latency-count", type=int, default=5000)
    ap.add_argument("--latency-rate", type=float, default=1000.0, help="records/s for the latency run")
    ap.add_argument("--broker", choices=("kafka", "mock", "both"), default="both",
                    help="kafka: Apache Kafka (scripts/ensure-kafka.sh fetches it); mock: librdkafka's mock")
    args = ap.parse_args(argv)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.platform()}")
    t0 = time.perf_counter()
    lines = generate(args.count)
    print(f"generated {args.count:,} order events in {time.perf_counter() - t0:.1f} s")
    for kind in ("kafka", "mock") if args.broker == "both" else (args.broker,):
        _run(kind, args, lines)
    print(NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
