"""Signals-stage benchmark (not a test): evidence/s from the evidence topic into the store, one process.

    .venv/bin/python -m benchmarks.bench_kafka_signals --count 20000                 # SQLite file
    .venv/bin/python -m benchmarks.bench_kafka_signals --db postgresql://...         # PostgreSQL

N generated order events are enforced in-process (tier 1: every record has its own evidence), the
evidence produced keyed by dataset URN, as the enforcer does (so one dataset: one partition of the
8-partition evidence topic; zstd-compressed, because librdkafka's mock cluster keeps only ~5 MB per
partition), then `SignalsStage` consumes it in this process (scaled-out mode, one engine host): per
batch one store transaction with the evidence, the engines, signals, incidents, graph writes, the
snapshot of that partition's engines and the offsets. "steady" = first -> last batch commit; "CPU" =
process CPU time of the whole stage run (less sensitive than wall time to other load on the machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer
from tests.transports.kafka_mock import MockKafka

from benchmarks.bench_kafka import watermarks
from benchmarks.gen_orders import generate
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import encode_evidence
from signal_factory.sources.jsonlines import read_lines
from signal_factory.stores.sql import open_store
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.signals_stage import SignalsStage

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE, TALLIES = "bench.sig.evidence", "bench.sig.tallies"
PARTITIONS = 8


def _evidence(count: int) -> list[tuple[bytes, bytes]]:
    cp = load_control_plane(ROOT / "examples" / "orders")
    records = list(read_lines(generate(count), "bench"))
    batch = Enforcer(cp).process(records)
    assert not batch.tallies, "tier 1: every record keeps its evidence"
    return [(e.dataset_urn.encode(), encode_evidence(e)) for e in batch.evidence]


def _produce(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 500000,
                         "compression.type": "zstd"})
    for key, value in messages:
        while True:
            try:
                producer.produce(EVIDENCE, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.01)
    assert producer.flush(120) == 0


def _available(bootstrap: str) -> int:
    """Messages the topic still holds (high - low watermark, summed): what the stage can consume."""
    return sum(hi - lo for lo, hi in watermarks(bootstrap, EVIDENCE).values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--db", default=None, help="store URL (default: a SQLite file in a temporary directory)")
    args = ap.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    t0 = time.perf_counter()
    messages = _evidence(args.count)
    print(f"enforced {args.count:,} generated records in-process in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp, MockKafka({EVIDENCE: PARTITIONS, TALLIES: PARTITIONS}) as mock:
        _produce(mock.bootstrap, messages)
        target = _available(mock.bootstrap)
        if target < len(messages):
            print(f"note: the mock broker trimmed {len(messages) - target:,} evidence; measuring {target:,}")
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = open_store(url)
        cfg = KafkaConfig(bootstrap_servers=mock.bootstrap, group_id="bench-signals", topics=(EVIDENCE, TALLIES),
                          evidence_topic=EVIDENCE, tally_topic=TALLIES, signals_topic=None,
                          batch_size=args.batch_size)
        stage = SignalsStage(load_control_plane(ROOT / "examples" / "orders"), store, cfg)
        first: list[float] = []
        last: list[float] = []

        def watch() -> None:  # first and last batch commit, from the stage's own report
            seen = 0
            while stage.report.evidence < target and not stop.is_set():
                if stage.report.batches != seen:
                    seen = stage.report.batches
                    (first if not first else last).append(time.perf_counter())
                    del last[:-1]
                time.sleep(0.005)
            last.append(time.perf_counter())
            stop.set()

        stop = threading.Event()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        cpu0 = time.process_time()
        try:
            report = stage.run(stop, idle_exit_s=60)
        finally:
            store.close()
        cpu = time.process_time() - cpu0  # all threads of this process (librdkafka's too), idle wait included
        steady = last[-1] - first[0]
        print(f"signals stage ({url.split(':')[0]}, batch {args.batch_size}): "
              f"{report.evidence:,} evidence ({report.new_evidence:,} new) in {report.batches:,} transactions; "
              f"steady {steady:.2f} s = {report.evidence / steady:,.0f} evidence/s; {report.signals} signals; "
              f"CPU {cpu:.2f} s = {cpu / report.evidence * 1e6:.1f} us/evidence")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
