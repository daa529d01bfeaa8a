"""Documents to rows and back: JSON text (msgspec) plus the derived columns the queries index.

Shared by the SQL store and `stores.memory.MemoryStore`, so both derive event times, run ids and
reason codes the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from signal_factory.model.evidence import Evidence, decode_evidence, encode_evidence
from signal_factory.model.incidents import ACKNOWLEDGED, OPEN, Incident, Notification
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.model import Signal, SignalState, decode_signal, encode_signal

#: Incident statuses `find_open` matches.
OPEN_STATUSES = (OPEN, ACKNOWLEDGED)
#: `id_counter` row behind `IncidentRepo.next_id`.
INCIDENT_COUNTER = "incident"

_enc = msgspec.json.Encoder()
_state_dec = msgspec.json.Decoder(SignalState)
_incident_dec = msgspec.json.Decoder(Incident)
_notification_dec = msgspec.json.Decoder(Notification)


def to_ms(text: str | None) -> int:
    """ISO-8601 -> epoch ms; 0 (sorts first, purged first) when missing or unparseable."""
    if not text:
        return 0
    ms = parse_iso_ms(text)
    return 0 if ms is None else ms


def incident_id(n: int) -> str:
    return f"INC-{n}"


class EvidenceRow(NamedTuple):
    evidence_id: str
    dataset_urn: str
    event_ms: int
    result: str
    run_id: str | None
    doc: str
    signatures: tuple[str, ...]
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None


def evidence_row(ev: Evidence) -> EvidenceRow:
    """Event time is `Evidence.event_time()` (else the processing `timestamp`); run id is the
    producer's run id, else the Spark run id from lineage; source coordinates when the record had an offset."""
    event_ms = parse_iso_ms(ev.event_time())
    if event_ms is None:
        event_ms = to_ms(ev.timestamp)
    run_id = ev.producer.run_id if ev.producer is not None else None
    if run_id is None and ev.lineage is not None:
        run_id = ev.lineage.spark_run_id
    signatures = tuple(dict.fromkeys(ev.validation.reason_codes))
    src = ev.source
    coords = (src.topic, src.partition, src.offset) if src is not None and src.offset is not None else (None,) * 3
    return EvidenceRow(ev.evidence_id, ev.dataset_urn, event_ms, ev.result, run_id,
                       encode_evidence(ev).decode(), signatures, *coords)


def decode_evidence_doc(doc: str | bytes) -> Evidence:
    return decode_evidence(doc)


TallyKey = tuple[str, str, str, str]


def tally_totals(tallies: list[PassTally] | tuple[PassTally, ...]) -> dict[TallyKey, int]:
    """Tallies summed per key (dataset, minute, producer, version); unknown producer/version are ''."""
    totals: dict[TallyKey, int] = {}
    for t in tallies:
        key = (t.dataset_urn, t.minute, t.producer or "", t.producer_version or "")
        totals[key] = totals.get(key, 0) + t.count
    return totals


def tally_from_key(key: TallyKey, count: int) -> PassTally:
    dataset_urn, minute, producer, version = key
    return PassTally(dataset_urn, minute, count, producer or None, version or None)


def encode_doc(doc: Signal | SignalState | Incident | Notification) -> str:
    if isinstance(doc, Signal):
        return encode_signal(doc).decode()
    return _enc.encode(doc).decode()


def decode_signal_doc(doc: str | bytes) -> Signal:
    return decode_signal(doc)


def decode_state_doc(doc: str | bytes) -> SignalState:
    return _state_dec.decode(doc)


def decode_incident_doc(doc: str | bytes) -> Incident:
    return _incident_dec.decode(doc)


def decode_notification_doc(doc: str | bytes, status: str, attempts: int, next_attempt_at: float,
                            last_error: str | None) -> Notification:
    """The stored notification with its delivery fields taken from their columns (which win)."""
    n = _notification_dec.decode(doc)
    return msgspec.structs.replace(n, status=status, attempts=attempts, next_attempt_at=next_attempt_at,
                                   last_error=last_error)
