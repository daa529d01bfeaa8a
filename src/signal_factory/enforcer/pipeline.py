"""`Enforcer.process(records) -> EnforceBatch`: the five gates over a batch, evidence out.

Batch in, batch out, no IO of its own (a `PayloadStore` is injected), so the same object serves the
CLI, HTTP ingest and a Kafka consumer group. PASS evidence may be sampled by tier; what is sampled
out is counted in `tallies`, so downstream counts stay exact.

Every record in is exactly one evidence (or one tally count) out, whatever its bytes: a record the
sources could not split, or whose timestamp lies outside years 2-9998, is FAIL evidence with a
`MALFORMED_RECORD:*` code; an unexpected exception for one record is FAIL evidence
`INTERNAL_ERROR:<ExceptionType>` (one error boundary per record, logged once per exception type); and
the evidence's text is made storable (`model.storable`) before anyone writes it.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from signal_factory.contracts.aggregate import QualityTally, observe
from signal_factory.contracts.rules import CompiledContract
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import Dataset, TopicMapping
from signal_factory.enforcer.eventtime import EventTimeGuard
from signal_factory.enforcer.otel import trace_context
from signal_factory.enforcer.redact import redacted_payload
from signal_factory.gates.contract import ContractGate
from signal_factory.gates.identity import IdentityGate
from signal_factory.gates.pii import PiiGate, pii_reason_codes
from signal_factory.gates.resolution import ResolutionGate
from signal_factory.gates.schema import UNDECODED, SchemaGate, SchemaResolver
from signal_factory.model.evidence import (
    FAIL,
    G1_RESOLUTION,
    G2_IDENTITY,
    G3_SCHEMA,
    G4_CONTRACT,
    G5_PII,
    PASS,
    SKIP,
    UNRESOLVED_DATASET,
    WARN,
    Evidence,
    GateResult,
    Producer,
    Source,
    Validation,
)
from signal_factory.model.ids import keyed_ulid
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.model.storable import may_hold_unstorable, storable_one, storable_text
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import MAX_EPOCH_MS, MIN_EPOCH_MS, in_range, iso_ms, iso_out_of_range, parse_iso_ms
from signal_factory.native import core as _native
from signal_factory.payloads.files import PayloadStore
from signal_factory.privacy.guard import MAX_REASON_CODES, safe_token
from signal_factory.registry.chain import SchemaResolverChain

log = logging.getLogger("signal_factory.enforcer")
TIMESTAMP_CODE = "MALFORMED_RECORD:timestamp"
_OUT_OF_RANGE = "timestamp is outside years 2-9998 UTC"

_G4_SKIP_UNDECODED = GateResult(G4_CONTRACT, SKIP, None, {"reason": "payload not decoded"})
_G5_SKIP_UNDECODED = GateResult(G5_PII, SKIP, None, {"reason": "payload not decoded"})
_NO_PRODUCER = Producer("UNKNOWN", "NONE")
_QUIET = frozenset({PASS, SKIP})
_NOTHING_CLASSIFIED: frozenset[str] = frozenset()


def offset_ranges(offsets: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted inclusive runs of consecutive offsets: [5, 3, 4, 9] -> ((3, 5), (9, 9))."""
    runs: list[tuple[int, int]] = []
    for off in sorted(offsets):
        if runs and off <= runs[-1][1] + 1:
            if off > runs[-1][1]:
                runs[-1] = (runs[-1][0], off)
            continue
        runs.append((off, off))
    return tuple(runs)


def _tally(key: tuple[str, str, str | None, str | None, str | None, int | None],
           offsets: list[int | None]) -> PassTally:
    if key[5] is None:
        return PassTally(key[0], key[1], len(offsets), key[2], key[3])
    ranges = offset_ranges([o for o in offsets if o is not None])
    return PassTally(key[0], key[1], sum(b - a + 1 for a, b in ranges), key[2], key[3], key[4], key[5], ranges)


class EnforceBatch(msgspec.Struct):
    evidence: list[Evidence]
    tallies: list[PassTally]
    #: Positions (in the input) of the records counted in `tallies` instead of having evidence; the
    #: evidence is in input order, so record i's evidence is found by skipping these.
    sampled: list[int] = msgspec.field(default_factory=list)
    #: What the batch's records showed of their contracts' aggregate rules, per dataset and event minute
    #: (contracts/aggregate.py): the signal engines measure those rules per window.
    quality: list[QualityTally] = msgspec.field(default_factory=list)

    def count(self) -> int:
        return len(self.evidence) + sum(t.count for t in self.tallies)


class Enforcer:
    def __init__(self, control_plane: ControlPlane, resolver: SchemaResolver | None = None, *,
                 payload_store: PayloadStore | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cp = control_plane
        settings = control_plane.settings
        # An S3 object's rows are routed by their `s3.yaml` location where a record has its topic.
        routes = {**control_plane.topics, **{r.route_key: TopicMapping(r.route_key, r.dataset, r.producer)
                                             for r in control_plane.objects}}
        self._g1 = ResolutionGate(routes, control_plane.datasets)
        self._g2 = IdentityGate(routes, settings.identity.payload_hint_fields)
        self._g3 = SchemaGate(resolver or SchemaResolverChain(control_plane.schemas))
        self._g4 = ContractGate()
        self._g5 = PiiGate(settings.pii.on_detect, settings.pii.scan_metadata)
        self._clock = clock
        self._event_time = EventTimeGuard(settings.event_time)
        self._payload_mode = settings.evidence.payload
        self._max_inline = settings.evidence.max_inline_payload_bytes
        self._payload_store = payload_store
        self._contracts: dict[str, CompiledContract | None] = {
            urn: control_plane.contract_for(ds) for urn, ds in control_plane.datasets.items()}
        self._routes: dict[str, tuple[Dataset | None, GateResult, CompiledContract | None]] = {}
        rates = settings.evidence.pass_sample_rates
        self._sample: dict[str, float] = {
            urn: ds.pass_sample_rate if ds.pass_sample_rate is not None else rates.get(ds.tier, 1.0)
            for urn, ds in control_plane.datasets.items()}
        #: Records turned into INTERNAL_ERROR evidence by the error boundary, per exception type.
        self.internal_errors: dict[str, int] = {}
        #: The current batch's quality tallies, by (dataset, minute, producer, version, topic, partition).
        self._quality: dict[tuple[str, int, str, str, str | None, int | None], QualityTally] = {}

    def process(self, records: Sequence[RawRecord | MalformedInput], *, sample: bool = True) -> EnforceBatch:
        """`sample=False` keeps every PASS evidence (S3 rows: a redelivered object must not count twice, and
        tallies without Kafka offsets cannot be told apart)."""
        now_ms = int(self._clock() * 1000)
        stamp = iso_ms(now_ms)
        evidence: list[Evidence] = []
        # (dataset, minute, producer, version, topic, partition) -> offsets counted (None: not from Kafka)
        tallies: dict[tuple[str, str, str | None, str | None, str | None, int | None], list[int | None]] = {}
        one = self._one
        # Datasets whose PASS evidence may be sampled out (`_keep_pass` is True for all the others).
        sampled = {urn for urn, rate in self._sample.items() if not rate >= 1.0} if sample else set()
        sampled_at: list[int] = []
        self._quality = {}
        dirty: list[int] = []  # evidence positions that may hold NUL / lone surrogates
        # Ids first, in one tight loop (measurably faster than one per gate run).
        try:
            if _native is not None:  # Kafka-keyed ids in one native call; the rest the reference way
                ids = [rec_id if rec_id is not None else record_id(rec, now_ms)
                       for rec_id, rec in zip(_native.kafka_ids(records, now_ms), records, strict=True)]
            else:
                ids = [record_id(rec, now_ms) for rec in records]
        except Exception:  # `record_id` is written not to raise; should it ever, no record is lost for it
            ids = [_fallback_id(rec, now_ms, n) for n, rec in enumerate(records)]
        for i, given in enumerate(records):
            rec = given
            try:  # the error boundary (STYLE #4): free when nothing raises
                ts = rec.timestamp_ms
                if ts is not None and not MIN_EPOCH_MS <= ts <= MAX_EPOCH_MS:  # e.g. a made-up Kafka CreateTime
                    rec = _bad_timestamp(rec)
                    ids[i] = record_id(rec, now_ms)
                if isinstance(rec, MalformedInput):
                    dirty.append(len(evidence))
                    evidence.append(self._malformed(ids[i], stamp, rec))
                    continue
                ev = one(ids[i], stamp, rec)
                if ev.validation.result == PASS and ev.dataset_urn in sampled \
                        and not self._keep_pass(ev.dataset_urn, rec):
                    src = ev.source
                    minute = (src.timestamp if src and src.timestamp else stamp)[:16] + ":00.000Z"
                    prod = ev.producer
                    sourced = rec.offset is not None and rec.partition is not None
                    key = (ev.dataset_urn, minute, prod.id if prod else None, prod.version if prod else None,
                           rec.topic if sourced else None, rec.partition if sourced else None)
                    bucket = tallies.get(key)
                    if bucket is None:
                        tallies[key] = bucket = []
                    bucket.append(rec.offset)
                    sampled_at.append(i)
                    continue
                if may_hold_unstorable(rec):
                    dirty.append(len(evidence))
                evidence.append(ev)
            except Exception as e:  # the boundary exists to contain bugs, for one record at a time
                if not dirty or dirty[-1] != len(evidence):
                    dirty.append(len(evidence))
                evidence.append(self._internal_error(rec, e, ids[i], stamp))
        for j in dirty:
            evidence[j] = storable_one(evidence[j])
        quality, self._quality = list(self._quality.values()), {}
        return EnforceBatch(evidence, [_tally(_storable_key(k), offs) for k, offs in tallies.items()], sampled_at,
                            quality)

    def _internal_error(self, rec: RawRecord | MalformedInput, error: Exception, evidence_id: str,
                        stamp: str) -> Evidence:
        """FAIL evidence `INTERNAL_ERROR:<type>` for a record the enforcer raised on, under the id the
        record would have had. The message names the type only (the exception text may quote the
        record); the traceback is logged the first time each type is seen."""
        kind = type(error).__name__
        seen = self.internal_errors.get(kind, 0)
        self.internal_errors[kind] = seen + 1
        if not seen:
            log.error("enforcer raised %s on a record (%s); it is FAIL evidence INTERNAL_ERROR:%s, and further "
                      "%s errors are counted, not logged", kind, rec.origin or "no origin", kind, kind,
                      exc_info=error)
        ts = rec.timestamp_ms if rec.timestamp_ms is not None and in_range(rec.timestamp_ms) else None
        bad = MalformedInput(reason_code=f"INTERNAL_ERROR:{kind}",
                             message=f"the enforcer raised {kind} on this record; its log has the traceback",
                             origin=rec.origin, topic=rec.topic if isinstance(rec.topic, str) else None,
                             partition=rec.partition, offset=rec.offset, timestamp_ms=ts)
        try:
            return self._malformed(evidence_id, stamp, bad)
        except Exception:
            return _bare_failure(evidence_id, stamp, bad)

    def _keep_pass(self, urn: str, rec: RawRecord) -> bool:
        rate = self._sample.get(urn, 1.0)
        if rate >= 1.0:
            return True
        # Deterministic by record coordinates: a replay keeps the same sample.
        key = f"{rec.topic}/{rec.partition}/{rec.offset}/{rec.origin}".encode()
        return zlib.crc32(key) < rate * 4294967296

    def _route(self, topic: str) -> tuple[Dataset | None, GateResult, CompiledContract | None]:
        """G1 for a topic, with the dataset's contract; kept per mapped topic (all three are fixed)."""
        dataset, g1 = self._g1.run(topic)
        if dataset is None:
            return None, g1, None
        hit = (dataset, g1, self._contracts.get(dataset.urn))
        if len(self._routes) < 10_000:
            self._routes[topic] = hit
        return hit

    def _one(self, evidence_id: str, stamp: str, rec: RawRecord) -> Evidence:
        topic = rec.topic or ""
        route = self._routes.get(topic)
        dataset, g1, contract = route if route is not None else self._route(topic)
        headers = rec.headers
        g3, g4, g5, obj, metadata, violations_codes, classified, payload = self._content(
            headers, rec.value, rec.value_obj, dataset, contract)
        producer, g2 = self._g2.run(topic, headers, obj if obj is not UNDECODED else None)
        gates = [g1, g2, g3, g4, g5]
        failed: list[str]
        codes: list[str]
        if (g1.result in _QUIET and g2.result in _QUIET and g3.result in _QUIET and g4.result in _QUIET
                and g5.result in _QUIET):
            result, failed, codes = PASS, [], []  # what `_verdict` says when no gate WARNs or FAILs
        else:
            result, failed, codes = _verdict(gates, violations_codes)
        event_ms = rec.timestamp_ms
        if event_ms is None and isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            event_ms = parse_iso_ms(obj["timestamp"])
            if event_ms is None and iso_out_of_range(obj["timestamp"]):
                return self._malformed(evidence_id, stamp, _bad_timestamp(rec))
        skew = self._event_time.code_for(event_ms, stamp)
        if skew is not None and event_ms is not None:
            result, gates, codes = self._event_time.apply(skew, event_ms, stamp, result, gates, codes)
        # Source's first five fields, positionally: topic, partition, offset, timestamp_type, timestamp.
        source = Source(rec.topic if dataset is not None else safe_token(topic), rec.partition, rec.offset,
                        rec.timestamp_type,
                        iso_ms(event_ms) if event_ms is not None else None)
        ev = Evidence(evidence_id=f"evd-{evidence_id}", timestamp=stamp,
                      dataset_urn=dataset.urn if dataset is not None else UNRESOLVED_DATASET,
                      producer=producer, validation=Validation(result, gates, failed, codes),
                      source=source, otel=trace_context(headers, metadata))
        if self._payload_mode != "none" and obj is not UNDECODED and (
                self._payload_mode == "all" or result != PASS):
            self._attach_payload(ev, obj, classified, dataset)
        if contract is not None and contract.aggregates and obj is not UNDECODED and skew is None:
            # A clock-skewed record is left out: its window is not trustworthy (signals/routing.py).
            minute = event_ms if event_ms is not None else parse_iso_ms(stamp)
            if minute is not None and dataset is not None:
                minute -= minute % 60_000
                # One tally per source partition too: its offsets let a Kafka consumer count it once.
                sourced = rec.offset is not None and rec.partition is not None and rec.topic is not None
                key = (dataset.urn, minute, producer.id, producer.version or "",
                       rec.topic if sourced else None, rec.partition if sourced else None)
                tally = self._quality.get(key)
                if tally is None:
                    tally = self._quality[key] = QualityTally(dataset.urn, minute, producer=storable_text(producer.id),
                                                              producer_version=storable_text(producer.version)
                                                              if producer.version else None,
                                                              topic=rec.topic if sourced else None,
                                                              partition=rec.partition if sourced else None)
                observe(contract.aggregates, payload, tally, rec.offset if sourced else None)
        return ev

    def _content(self, headers: dict[str, str], value: bytes | None, value_obj: Any, dataset: Dataset | None,
                 contract: CompiledContract | None,
                 ) -> tuple[GateResult, GateResult, GateResult, Any, Any, list[str], frozenset[str], Any]:
        """G3, G4 and G5 of one value: (g3, g4, g5, decoded value, metadata, contract codes, PII fields, the
        payload the contract ran on)."""
        g3, obj, payload, metadata = self._g3.run_split(headers, value, value_obj, dataset)
        if obj is UNDECODED:
            return g3, _G4_SKIP_UNDECODED, _G5_SKIP_UNDECODED, obj, metadata, [], _NOTHING_CLASSIFIED, payload
        g4, violations = self._g4.run(contract, payload)
        codes = [v.reason_code for v in violations] if violations else []
        classified = contract.pii_fields if contract is not None else _NOTHING_CLASSIFIED
        return g3, g4, self._g5.run(payload, metadata, classified), obj, metadata, codes, classified, payload

    def _attach_payload(self, ev: Evidence, obj: Any, classified: frozenset[str],
                        dataset: Dataset | None) -> None:
        clean = redacted_payload(obj, classified)
        data = msgspec.json.encode(clean)
        if len(data) <= self._max_inline or self._payload_store is None:
            ev.payload = clean if len(data) <= self._max_inline else None
            if ev.payload is None:
                ev.payload_ref = "omitted:too-large"
        else:
            ev.payload_ref = self._payload_store.put(data)

    def _malformed(self, evidence_id: str, stamp: str, bad: MalformedInput) -> Evidence:
        dataset = self._g1.run(bad.topic)[0] if bad.topic else None
        g1: GateResult
        if dataset is not None:
            g1 = GateResult(G1_RESOLUTION, PASS, None, {"dataset_urn": dataset.urn})
        else:
            g1 = GateResult(G1_RESOLUTION, SKIP, None, {"reason": "record could not be parsed"})
        g3 = GateResult(G3_SCHEMA, FAIL, bad.reason_code, {"message": bad.message})
        skipped = [GateResult(g, SKIP, None, {"reason": "record could not be parsed"})
                   for g in (G2_IDENTITY, G4_CONTRACT, G5_PII)]
        topic, origin = bad.topic, bad.origin
        if topic is not None and dataset is None:  # an unmapped topic is producer-controlled: guarded
            shown = safe_token(topic)
            origin, topic = origin.replace(topic, shown) if topic else origin, shown
        gates = [g1, skipped[0], g3, skipped[1], skipped[2]]
        result, codes = FAIL, [bad.reason_code]
        skew = self._event_time.code_for(bad.timestamp_ms, stamp)
        if skew is not None and bad.timestamp_ms is not None:
            result, gates, codes = self._event_time.apply(skew, bad.timestamp_ms, stamp, result, gates, codes)
        return Evidence(
            evidence_id=f"evd-{evidence_id}", timestamp=stamp,
            dataset_urn=dataset.urn if dataset is not None else UNRESOLVED_DATASET,
            producer=_NO_PRODUCER,
            validation=Validation(result, gates, [G3_SCHEMA], codes),
            source=Source(topic=topic, partition=bad.partition, offset=bad.offset, origin=origin,
                          timestamp=iso_ms(bad.timestamp_ms) if bad.timestamp_ms is not None else None))


def _fallback_id(rec: RawRecord | MalformedInput, now_ms: int, position: int) -> str:
    try:
        return record_id(rec, now_ms)
    except Exception:
        return keyed_ulid(now_ms, f"unidentifiable\x00{position}".encode())


def _bad_timestamp(rec: RawRecord | MalformedInput) -> MalformedInput:
    return MalformedInput(reason_code=TIMESTAMP_CODE, message=_OUT_OF_RANGE, origin=rec.origin, topic=rec.topic,
                          partition=rec.partition, offset=rec.offset)


def _bare_failure(evidence_id: str, stamp: str, bad: MalformedInput) -> Evidence:
    gates = [GateResult(g, SKIP, None, {"reason": "record could not be processed"})
             for g in (G1_RESOLUTION, G2_IDENTITY, G4_CONTRACT, G5_PII)]
    gates.insert(2, GateResult(G3_SCHEMA, FAIL, bad.reason_code, {"message": bad.message}))
    return Evidence(evidence_id=f"evd-{evidence_id}", timestamp=stamp, dataset_urn=UNRESOLVED_DATASET,
                    producer=_NO_PRODUCER, validation=Validation(FAIL, gates, [G3_SCHEMA], [bad.reason_code]),
                    source=Source(partition=bad.partition, offset=bad.offset))  # no producer text: nothing to guard


def _storable_key(key: tuple[str, str, str | None, str | None, str | None, int | None],
                  ) -> tuple[str, str, str | None, str | None, str | None, int | None]:
    """A tally key with its producer-controlled strings (producer, version, topic) made storable."""
    producer, version, topic = (None if v is None else storable_text(v) for v in (key[2], key[3], key[4]))
    return key[0], key[1], producer, version, topic, key[5]


def record_id(rec: RawRecord | MalformedInput, now_ms: int) -> str:
    """Deterministic evidence id: the same source record always gets the same id.

    Keyed by Kafka coordinates when there are any, else by origin and value; the time part is the
    record's own timestamp (processing time when it has none, or one outside years 2-9998). Never
    raises: text that is not UTF-8-encodable (lone surrogates) is keyed by its surrogate-escaped bytes.
    """
    ts = rec.timestamp_ms if rec.timestamp_ms is not None and in_range(rec.timestamp_ms) else now_ms
    if rec.offset is not None:
        return keyed_ulid(ts, f"{rec.topic}\x00{rec.partition}\x00{rec.offset}".encode("utf-8", "surrogatepass"))
    if isinstance(rec, MalformedInput):
        return keyed_ulid(ts, f"{rec.origin}\x00{rec.message}".encode("utf-8", "surrogatepass"))
    if rec.value is not None:
        value = rec.value
    else:
        try:
            value = msgspec.json.encode(rec.value_obj)
        except (TypeError, UnicodeEncodeError, RecursionError):  # not JSON-encodable: its repr is stable too
            value = repr(rec.value_obj).encode("utf-8", "surrogatepass")
    return keyed_ulid(ts, f"{rec.topic}\x00{rec.origin}\x00".encode("utf-8", "surrogatepass") + value)


def _verdict(gates: list[GateResult], contract_codes: list[str]) -> tuple[str, list[str], list[str]]:
    """Overall result (any FAIL -> FAIL; else any WARN -> WARN; else PASS), failed gates, reason codes."""
    failed: list[str] = []
    codes: list[str] = []
    warned = False
    for g in gates:
        r = g.result
        if r in (PASS, SKIP):
            continue
        if r == FAIL:
            failed.append(g.gate)
        else:
            warned = True
        if g.gate == G4_CONTRACT:
            codes.extend(contract_codes)
        elif g.gate == G5_PII:
            codes.extend(pii_reason_codes(g))
        elif g.reason_code is not None:
            codes.append(g.reason_code)
    if failed:
        return FAIL, failed, list(dict.fromkeys(codes))[:MAX_REASON_CODES]
    if warned:
        return WARN, failed, list(dict.fromkeys(codes))[:MAX_REASON_CODES]
    return PASS, failed, codes
