"""`EvidenceEmitter`: what a stream processor node calls per record to emit stream evidence.

The verdict is the enforcer's G4 (`ContractGate` over the compiled contract): same result, same reason
codes. Evidence ids are deterministic (topology, node, input coordinates), so a processor that restarts
and re-processes from its last committed offset emits the same ids and stores upsert.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from signal_factory.contracts.rules import CompiledContract
from signal_factory.gates.contract import ContractGate
from signal_factory.integrations.stream.model import (
    AGGREGATED_WITH,
    DERIVED_FROM,
    CorrelationLink,
    RecordRef,
    StreamEvidence,
    StreamFacet,
    Window,
)
from signal_factory.integrations.stream.sinks import EvidenceSink
from signal_factory.model.evidence import FAIL, G4_CONTRACT, SKIP, Otel, Producer, Source, Validation
from signal_factory.model.ids import keyed_ulid
from signal_factory.model.records import RawRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms

#: What can be named as an input of a derived or aggregated record.
Input = StreamEvidence | RecordRef | RawRecord | str


def record_ref(record: RecordRef | RawRecord) -> RecordRef:
    """Coordinates (and W3C trace id, from `x-obs-trace-id` or `traceparent`) of a consumed record."""
    if isinstance(record, RecordRef):
        return record
    trace_id = record.headers.get("x-obs-trace-id")
    parent = record.headers.get("traceparent")
    if trace_id is None and parent and parent.count("-") == 3:
        trace_id = parent.split("-")[1]
    return RecordRef(topic=record.topic, partition=record.partition, offset=record.offset,
                     timestamp_ms=record.timestamp_ms, trace_id=trace_id)


class EvidenceEmitter:
    """Validate -> evidence -> sink, for one processor node of one topology writing one dataset."""

    def __init__(self, contract: CompiledContract | None, dataset_urn: str, topology_id: str,
                 processor_node: str, sink: EvidenceSink, *, producer_version: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.contract = contract
        self.dataset_urn = dataset_urn
        self.topology_id = topology_id
        self.processor_node = processor_node
        self.sink = sink
        self._producer = Producer(topology_id, "HIGH", producer_version)
        self._gate = ContractGate()
        self._clock = clock

    def validate(self, payload: Any, *, input_record: RecordRef | RawRecord, event_time_ms: int,
                 window: Window | None = None, watermark_ms: int | None = None) -> StreamEvidence:
        """Evidence for one consumed record's payload (no correlation chain: it is the root)."""
        return self._emit(payload, record_ref(input_record), event_time_ms, window, watermark_ms, [])

    def derived(self, output_payload: Any, inputs: Sequence[Input], *, output_record: RecordRef | None = None,
                event_time_ms: int | None = None, window: Window | None = None,
                watermark_ms: int | None = None) -> StreamEvidence:
        """Evidence for a record computed from `inputs` (fan-out / map): DERIVED_FROM each of them."""
        return self._chained(DERIVED_FROM, output_payload, inputs, output_record, event_time_ms, window,
                             watermark_ms)

    def aggregated(self, output_payload: Any, inputs: Sequence[Input], *, output_record: RecordRef | None = None,
                   event_time_ms: int | None = None, window: Window | None = None,
                   watermark_ms: int | None = None) -> StreamEvidence:
        """Evidence for a record that folds `inputs` together (fan-in / window): AGGREGATED_WITH each."""
        return self._chained(AGGREGATED_WITH, output_payload, inputs, output_record, event_time_ms, window,
                             watermark_ms)

    def _chained(self, relation: str, payload: Any, inputs: Sequence[Input], output_record: RecordRef | None,
                 event_time_ms: int | None, window: Window | None, watermark_ms: int | None) -> StreamEvidence:
        chain = [_link(i, relation, item) for i, item in enumerate(inputs, start=1)]
        if event_time_ms is None:
            times = [t for t in (_event_ms(item) for item in inputs) if t is not None]
            event_time_ms = max(times) if times else int(self._clock() * 1000)
        ref = output_record or RecordRef(trace_id=next(
            (t for t in (_trace_id(item) for item in inputs) if t is not None), None))
        return self._emit(payload, ref, event_time_ms, window, watermark_ms, chain)

    def _emit(self, payload: Any, ref: RecordRef, event_time_ms: int, window: Window | None,
              watermark_ms: int | None, chain: list[CorrelationLink]) -> StreamEvidence:
        now_ms = int(self._clock() * 1000)
        g4, violations = self._gate.run(self.contract, payload)
        result = g4.result if g4.result != SKIP else "PASS"
        codes = list(dict.fromkeys(v.reason_code for v in violations))
        validation = Validation(result, [g4], [G4_CONTRACT] if result == FAIL else [], codes)
        ev = StreamEvidence(
            evidence_id="evd-" + keyed_ulid(event_time_ms, self._key(ref, payload, chain)),
            timestamp=iso_ms(now_ms), dataset_urn=self.dataset_urn, producer=self._producer,
            validation=validation,
            source=Source(topic=ref.topic, partition=ref.partition, offset=ref.offset, timestamp_type="CREATE_TIME",
                          timestamp=iso_ms(event_time_ms), origin=f"stream:{self.topology_id}/{self.processor_node}"),
            otel=Otel(trace_id=ref.trace_id) if ref.trace_id else None,
            stream=StreamFacet(
                topology_id=self.topology_id, processor_node=self.processor_node, window=window,
                watermark=iso_ms(watermark_ms) if watermark_ms is not None else None,
                processing_time=iso_ms(now_ms), processing_time_ms=now_ms,
                late_data=watermark_ms is not None and event_time_ms < watermark_ms),
            correlation_chain=chain)
        self.sink.emit(ev)
        return ev

    def _key(self, ref: RecordRef, payload: Any, chain: list[CorrelationLink]) -> bytes:
        head = f"{self.topology_id}\x00{self.processor_node}\x00{self.dataset_urn}\x00".encode()
        if ref.offset is not None:
            return head + f"{ref.topic}\x00{ref.partition}\x00{ref.offset}".encode()
        # No coordinates of its own: the record is identified by what it came from, then by its content.
        return head + msgspec.json.encode([chain, payload])


def _link(step: int, relation: str, item: Input) -> CorrelationLink:
    if isinstance(item, str):
        return CorrelationLink(step=step, relation=relation, evidence_id=item)
    if isinstance(item, StreamEvidence):
        src = item.source
        return CorrelationLink(step=step, relation=relation, evidence_id=item.evidence_id,
                               topic=src.topic if src else None, partition=src.partition if src else None,
                               offset=src.offset if src else None)
    ref = record_ref(item)
    return CorrelationLink(step=step, relation=relation, topic=ref.topic, partition=ref.partition,
                           offset=ref.offset)


def _event_ms(item: Input) -> int | None:
    if isinstance(item, str):
        return None
    if isinstance(item, StreamEvidence):
        return parse_iso_ms(item.event_time())
    return record_ref(item).timestamp_ms


def _trace_id(item: Input) -> str | None:
    if isinstance(item, str):
        return None
    if isinstance(item, StreamEvidence):
        return item.otel.trace_id if item.otel else None
    return record_ref(item).trace_id
