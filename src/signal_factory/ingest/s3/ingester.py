"""`S3ObjectIngester`: one evidence per row of each object written straight to S3 (seed 5, "Direct S3 Write").

notification -> objects -> route (`s3.yaml`: bucket/prefix -> dataset, format, producer) -> fetch -> rows ->
the enforcer's five gates per row (`Enforcer.process`, built by `build_enforcer`): G1 resolves the row by
its route, G2 identifies the producer from the object's user metadata (`x-obs-producer-service`, HIGH), the
route's `producer` (MEDIUM) or a payload hint (LOW), G3-G5 check schema, contract and PII as for a Kafka
record, and the payload policy and payload store apply. A row that does not decode is FAIL evidence
(`MALFORMED_ROW:*`). Every row is kept (no PASS sampling), and each row's evidence id is keyed by
bucket/key/etag/row, so a redelivered notification (any shape) yields the same ids and stores skip them.

What is not a row is one evidence per object: a malformed notification, an object no route maps
(`UNMAPPED_OBJECT`), one that is gone or does not parse (`OBJECT_UNREADABLE:*`), an empty one
(`EMPTY_OBJECT`, WARN). Transport failures (the S3 endpoint cannot be reached) raise `S3TransportError`:
the caller should leave the message on its queue to be redelivered, rather than store a FAIL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from signal_factory.contracts.aggregate import QualityTally
from signal_factory.contracts.rules import CompiledContract
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.objects import ObjectRoute, routes_from_mapping
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.inflows import guard_evidence
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.errors import SignalFactoryError
from signal_factory.ingest.s3.notifications import MalformedNotification, ObjectRef, parse_notification
from signal_factory.ingest.s3.readers import BadRow, UnreadableObject, detect_format, read_rows
from signal_factory.model.evidence import (
    FAIL,
    G1_RESOLUTION,
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
from signal_factory.model.timefmt import iso_ms
from signal_factory.privacy.guard import safe_text
from signal_factory.settings import Settings

ORIGIN = "s3"
_PRODUCER = Producer("s3-object-ingester", "LOW")
DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024


class S3TransportError(SignalFactoryError):
    """The S3 endpoint could not be reached; retry the notification later."""


class S3Client(Protocol):
    """The part of a boto3 S3 client the ingester uses."""

    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class _Fetched:
    rows: list[Any]
    etag: str | None
    modified_ms: int | None
    headers: dict[str, str]


class S3ObjectIngester:
    def __init__(self, control_plane: ControlPlane, mapping: Mapping[str, str] | None, s3_client: S3Client, *,
                 enforcer: Enforcer | None = None, settings: Settings | None = None,
                 max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES, clock: Callable[[], float] = time.time) -> None:
        """Objects go to datasets by `s3.yaml` (`control_plane.objects`), or by `mapping` when given
        (`{"s3://bucket/prefix": urn}`, replacing it). `enforcer` (default `build_enforcer(control_plane,
        settings)`) must know the same routes."""
        if mapping is not None:
            control_plane = dataclasses.replace(control_plane,
                                                objects=routes_from_mapping(dict(mapping), control_plane.datasets))
        self.cp = control_plane
        self._s3 = s3_client
        self._max_bytes = max_object_bytes
        self._clock = clock
        self._enforcer = enforcer or build_enforcer(control_plane, settings, clock=clock)
        known = {r.route_key for r in self._enforcer.cp.objects}
        missing = sorted(r.route_key for r in control_plane.objects if r.route_key not in known)
        if missing:
            raise SignalFactoryError(f"the enforcer given was built without the S3 routes {missing}; build it "
                                     "from the same control plane (build_enforcer(cp))")
        self._quality: list[QualityTally] = []

    def handle_notification(self, body: bytes | str) -> list[Evidence]:
        """One evidence per row of every announced object (one per object that has no rows to check, and
        one FAIL per unreadable part of the notification)."""
        out: list[Evidence] = []
        for item in parse_notification(body):
            if isinstance(item, MalformedNotification):
                out.append(self._malformed(item, body))
            else:
                out.extend(self.handle_object(item))
        return out

    def take_quality(self) -> list[QualityTally]:
        """The aggregate-quality counts (ODCS rowCount, duplicates, null/invalid ratios) of the rows read since
        the last call, for the signal engines; the caller passes them with the evidence to `ingest_evidence`,
        which adds them only if the evidence is new (a redelivered notification counts once)."""
        out, self._quality = self._quality, []
        return out

    def dataset_for(self, bucket: str, key: str) -> str | None:
        route = self.cp.object_route(bucket, key)
        return route.dataset if route is not None else None

    def handle_object(self, ref: ObjectRef) -> list[Evidence]:
        route = self.cp.object_route(ref.bucket, ref.key)
        if route is None:
            g1 = GateResult(G1_RESOLUTION, FAIL, f"UNMAPPED_OBJECT:{ref.bucket}",
                            {"message": f"no dataset is mapped to {ref.uri}; add its bucket/prefix to s3.yaml",
                             "known_locations": [r.route_key for r in self.cp.objects]})
            return [self._evidence(ref, UNRESOLVED_DATASET, [g1], FAIL, [g1.reason_code or ""], None)]
        urn = route.dataset
        g1 = GateResult(G1_RESOLUTION, PASS, None, {"dataset_urn": urn})
        contract = self.cp.contract_for(self.cp.datasets[urn])
        try:
            got = self._fetch(ref, route, contract)
        except UnreadableObject as e:
            code = f"OBJECT_UNREADABLE:{e.reason}"
            g3 = GateResult(G3_SCHEMA, FAIL, code, {"message": str(e)})
            return [self._evidence(ref, urn, [g1, g3], FAIL, [code], None)]
        if not got.rows:
            g4 = GateResult(G4_CONTRACT, WARN, "EMPTY_OBJECT", {"rows": 0, "message": f"{ref.uri} holds no rows"})
            return [self._evidence(ref, urn, [g1, g4], WARN, ["EMPTY_OBJECT"], got.modified_ms)]
        return self._rows(ref, route, got)

    def _rows(self, ref: ObjectRef, route: ObjectRoute, got: _Fetched) -> list[Evidence]:
        """Every row through the enforcer as a record routed by its location; then the source names the object
        (`input_dataset` its URL, `source_record_id` the ETag read) and the row (`offset`, 1-based)."""
        ts = got.modified_ms if got.modified_ms is not None else ref.event_time_ms
        etag = got.etag or ref.etag or ""
        base = f"{ref.uri}\x00{etag}#"
        records: list[RawRecord | MalformedInput] = []
        for n, row in enumerate(got.rows, start=1):
            if isinstance(row, BadRow):
                records.append(MalformedInput(reason_code=row.reason_code, message=f"row {n} (line {row.line}) of the "
                                              "object could not be decoded", origin=f"{base}{n}",
                                              topic=route.route_key, timestamp_ms=ts))
            else:
                records.append(RawRecord(topic=route.route_key, timestamp_ms=ts, headers=got.headers,
                                         value_obj=row, origin=f"{base}{n}"))
        batch = self._enforcer.process(records, sample=False)
        self._quality.extend(batch.quality)  # aggregate-rule counts, handed over by `take_quality`
        # The enforcer's evidence is guarded by construction; what is added here (the object's URL and ETag,
        # producer-controlled) is guarded once per object, not once per row (guard_evidence per row cost ~17%).
        uri, read = safe_text(ref.uri), safe_text(etag) if etag else None
        for n, ev in enumerate(batch.evidence, start=1):
            src = ev.source
            ev.source = Source(offset=n, timestamp=src.timestamp if src is not None else None, origin=ORIGIN,
                               input_dataset=uri, source_record_id=read)
        return batch.evidence

    def _fetch(self, ref: ObjectRef, route: ObjectRoute, contract: CompiledContract | None) -> _Fetched:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - boto3 is optional

        try:
            response = self._s3.get_object(Bucket=ref.bucket, Key=ref.key)
            length = response.get("ContentLength") or 0
            if length > self._max_bytes:
                response["Body"].close()
                raise UnreadableObject("too-large", f"{ref.uri} is {length} bytes; the limit is {self._max_bytes}")
            data: bytes = response["Body"].read()
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "ClientError")
            raise UnreadableObject(str(code), f"GET {ref.uri} failed: {e}") from e
        except BotoCoreError as e:
            raise S3TransportError(f"GET {safe_text(ref.uri)} failed: {e}; check endpoint_url and network") from e
        fmt = route.format or detect_format(ref.key, response.get("ContentType"))
        etag = str(response.get("ETag") or "").strip('"') or None  # the version we read, if newer than announced
        modified = response.get("LastModified")
        modified_ms = int(modified.timestamp() * 1000) if modified is not None else None
        metadata = response.get("Metadata") or {}  # user metadata: x-amz-meta-x-obs-producer-service -> G2 HIGH
        headers = {str(k): v for k, v in metadata.items() if isinstance(v, str)}
        return _Fetched(read_rows(data, fmt, contract), etag, modified_ms, headers)

    def _evidence(self, ref: ObjectRef, urn: str, gates: list[GateResult], result: str, codes: list[str],
                  modified_ms: int | None) -> Evidence:
        """The one evidence of an object that has no rows to check."""
        event_ms = modified_ms if modified_ms is not None else ref.event_time_ms
        key = f"{ref.bucket}\x00{ref.key}\x00{ref.etag or ''}".encode()
        present = {g.gate for g in gates}
        full = sorted(gates + [GateResult(g, SKIP, None, {"reason": "no rows to check"})
                               for g in (G3_SCHEMA, G4_CONTRACT, G5_PII) if g not in present], key=lambda g: g.gate)
        return guard_evidence(Evidence(  # object keys and metadata are producer-controlled
            evidence_id="evd-" + keyed_ulid(_id_time(ref, modified_ms), key),
            timestamp=iso_ms(int(self._clock() * 1000)), dataset_urn=urn, producer=_PRODUCER,
            validation=Validation(result, full, [g.gate for g in full if g.result == FAIL], codes),
            source=Source(origin=ORIGIN, input_dataset=ref.uri, source_record_id=ref.etag,
                          timestamp=iso_ms(event_ms) if event_ms is not None else None)))

    def _malformed(self, bad: MalformedNotification, body: bytes | str) -> Evidence:
        raw = body.encode() if isinstance(body, str) else body
        # Charged to the bucket's dataset only when the bucket holds exactly one.
        in_bucket = {r.dataset for r in self.cp.objects if bad.bucket and r.bucket == bad.bucket}
        urn = in_bucket.pop() if len(in_bucket) == 1 else UNRESOLVED_DATASET
        g3 = GateResult(G3_SCHEMA, FAIL, bad.reason_code, {"message": bad.message})
        skipped = [GateResult(g, SKIP, None, {"reason": "notification could not be read"})
                   for g in (G1_RESOLUTION, G4_CONTRACT)]
        digest = hashlib.blake2b(raw + bad.reason_code.encode() + bad.message.encode(), digest_size=16).digest()
        return guard_evidence(Evidence(
            evidence_id="evd-" + keyed_ulid(0, digest), timestamp=iso_ms(int(self._clock() * 1000)),
            dataset_urn=urn, producer=_PRODUCER,
            validation=Validation(FAIL, [skipped[0], g3, skipped[1]], [G3_SCHEMA], [bad.reason_code]),
            source=Source(origin=ORIGIN, input_dataset=f"s3://{bad.bucket}" if bad.bucket else None)))


def _id_time(ref: ObjectRef, modified_ms: int | None) -> int:
    """The id's time part: the object's LastModified, else the notification's time to the second (S3 and
    EventBridge carry the same instant at different precisions), so every shape of one event agrees."""
    if modified_ms is not None:
        return modified_ms
    return ref.event_time_ms // 1000 * 1000 if ref.event_time_ms is not None else 0
