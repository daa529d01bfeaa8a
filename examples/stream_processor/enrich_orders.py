"""Example stream processor (seed 3.1's `enrichment-stream`): validate -> enrich -> emit stream evidence.

Consumes raw order records (a JSON-lines file, or a Kafka topic with --kafka), validates each against the
orders contract (node `contract-validator`, dataset urn:dp:orders:created), enriches the ones that did
not FAIL with `order_value_band` (node `enrich`, dataset urn:dp:orders:enriched, DERIVED_FROM the
validation evidence and the input record), and writes enriched records plus stream evidence:

    python examples/stream_processor/enrich_orders.py --input examples/orders/scenario1/traffic.jsonl \
        --out /tmp/enriched.jsonl --evidence /tmp/stream-evidence.jsonl

The watermark is bounded out-of-orderness (max event time seen - --lateness-ms), as Flink's default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.model.timefmt import iso_ms
from signal_factory.gates.schema import split_envelope
from signal_factory.integrations.stream import (
    EvidenceEmitter,
    EvidenceSink,
    HttpSink,
    JsonLinesSink,
    ListSink,
    Window,
    record_ref,
)
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.sources.jsonlines import parse_line

TOPOLOGY = "enrichment-stream"
INPUT_DATASET = "urn:dp:orders:created"
OUTPUT_DATASET = "urn:dp:orders:enriched"
OUTPUT_TOPIC = "enriched.orders.events"
EXAMPLE_CONTROL_PLANE = Path(__file__).resolve().parents[1] / "orders"
MINUTE_MS = 60_000


def value_band(amount: Any) -> str:
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        return "UNKNOWN"
    if amount < 50:
        return "LOW"
    if amount < 500:
        return "MEDIUM"
    return "HIGH"


def file_records(path: Path) -> Iterator[RawRecord | MalformedInput]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield parse_line(line, f"{path}:{number}")


def kafka_records(bootstrap: str, topic: str, group: str, idle_s: float) -> Iterator[RawRecord | MalformedInput]:
    from confluent_kafka import Consumer  # noqa: PLC0415 - only needed with --kafka

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        while True:
            msg = consumer.poll(idle_s)
            if msg is None:
                return
            if msg.error():
                continue
            ts_type, ts = msg.timestamp()
            headers: dict[str, str] = {}
            for pair in msg.headers() or []:
                name, raw = pair[0], pair[1]
                headers[str(name)] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
            key = msg.key()
            yield RawRecord(topic=msg.topic(), partition=msg.partition(), offset=msg.offset(),
                            timestamp_ms=ts if ts_type else None, headers=headers,
                            key=key.decode("utf-8", "replace") if key else None, value=msg.value(),
                            origin=f"kafka:{msg.topic()}/{msg.partition()}@{msg.offset()}")
    finally:
        consumer.close()


class Processor:
    def __init__(self, validator: EvidenceEmitter, enricher: EvidenceEmitter, lateness_ms: int) -> None:
        self.validator = validator
        self.enricher = enricher
        self.lateness_ms = lateness_ms
        self.max_event_ms: int | None = None
        self.counts = {"records": 0, "enriched": 0, "failed": 0, "late": 0, "undecoded": 0}

    def process(self, rec: RawRecord | MalformedInput) -> dict[str, Any] | None:
        """One input record -> the enriched record, or None if it was dropped (evidence is emitted either way)."""
        self.counts["records"] += 1
        if isinstance(rec, MalformedInput) or rec.value is None:
            self.counts["undecoded"] += 1
            return None
        try:
            obj = msgspec.json.decode(rec.value)
        except msgspec.DecodeError:
            self.counts["undecoded"] += 1
            return None
        payload, _ = split_envelope(obj)
        event_ms = rec.timestamp_ms if rec.timestamp_ms is not None else (self.max_event_ms or 0)
        watermark = self.max_event_ms - self.lateness_ms if self.max_event_ms is not None else None
        self.max_event_ms = max(self.max_event_ms or event_ms, event_ms)
        start = event_ms - event_ms % MINUTE_MS
        window = Window(type="TUMBLING", start=iso_ms(start), end=iso_ms(start + MINUTE_MS))
        checked = self.validator.validate(payload, input_record=rec, event_time_ms=event_ms, window=window,
                                          watermark_ms=watermark)
        if checked.stream.late_data:
            self.counts["late"] += 1
        if checked.validation.result == "FAIL":
            self.counts["failed"] += 1
            return None
        enriched = {**payload, "order_value_band": value_band(payload.get("total_amount"))} \
            if isinstance(payload, dict) else payload
        self.enricher.derived(enriched, inputs=[checked], event_time_ms=event_ms, window=window,
                              watermark_ms=watermark)
        self.counts["enriched"] += 1
        ref = record_ref(rec)
        return {"topic": OUTPUT_TOPIC, "key": rec.key, "ts": event_ms,
                "headers": {"x-obs-trace-id": ref.trace_id} if ref.trace_id else {},
                "payload": {**obj, "payload": enriched} if obj is not payload else enriched}


def _sink(args: argparse.Namespace) -> EvidenceSink:
    if args.evidence_url:
        return HttpSink(args.evidence_url, args.token)
    if args.evidence:
        return JsonLinesSink(args.evidence)
    return ListSink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="raw records as JSON lines (plain or kcat -J form)")
    source.add_argument("--kafka", metavar="BOOTSTRAP", help="consume --topic from this Kafka cluster instead")
    parser.add_argument("--topic", default="raw.orders.events")
    parser.add_argument("--group", default=TOPOLOGY)
    parser.add_argument("--idle-s", type=float, default=5.0, help="with --kafka: stop after this long without input")
    parser.add_argument("--out", type=Path, required=True, help="enriched records, JSON lines")
    parser.add_argument("--evidence", type=Path, help="stream evidence, JSON lines")
    parser.add_argument("--evidence-url", help="POST evidence to this Signal Factory API instead")
    parser.add_argument("--token", help="bearer token for --evidence-url")
    parser.add_argument("--control-plane", type=Path, default=EXAMPLE_CONTROL_PLANE)
    parser.add_argument("--lateness-ms", type=int, default=5000)
    args = parser.parse_args(argv)

    cp = load_control_plane(args.control_plane)
    contract = cp.contract_for(cp.datasets[INPUT_DATASET])
    sink = _sink(args)
    processor = Processor(EvidenceEmitter(contract, INPUT_DATASET, TOPOLOGY, "contract-validator", sink),
                          EvidenceEmitter(contract, OUTPUT_DATASET, TOPOLOGY, "enrich", sink), args.lateness_ms)
    records = file_records(args.input) if args.input else kafka_records(args.kafka, args.topic, args.group,
                                                                          args.idle_s)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    with args.out.open("wb") as out:
        for rec in records:
            enriched = processor.process(rec)
            if enriched is not None:
                out.write(encoder.encode(enriched) + b"\n")
    sink.flush()
    if isinstance(sink, JsonLinesSink | HttpSink):
        sink.close()
    print(" ".join(f"{k}={v}" for k, v in processor.counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
