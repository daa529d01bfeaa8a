"""`S3ObjectIngester`: one evidence per object written straight to S3 (seed 5, "Direct S3 Write").

notification -> objects -> (dataset by bucket/prefix mapping, compiled contract) -> fetch -> rows ->
the enforcer's G3-G5 per row (`Enforcer.check_row`; the enforcer comes from `build_enforcer`) -> one
evidence: FAIL if any row fails, else WARN if any warns, else PASS, each gate its worst row's, with the
row counts and the most frequent reason codes in the G4 details. The evidence id is keyed by
bucket/key/etag, so a redelivered notification (any shape) yields the same id and stores skip it.

Expected failures (a malformed notification, an object that is gone or does not parse) are FAIL
evidence. Transport failures (the S3 endpoint cannot be reached) raise `S3TransportError`: the caller
should leave the message on its queue to be redelivered, rather than store a FAIL under the object's id.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from signal_factory.contracts.rules import CompiledContract
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.guard import safe_text
from signal_factory.enforcer.inflows import guard_evidence
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.enforcer.timefmt import iso_ms
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

ORIGIN = "s3"
_PRODUCER = Producer("s3-object-ingester", "LOW")
_TOP_CODES = 10
DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024


class S3TransportError(SignalFactoryError):
    """The S3 endpoint could not be reached; retry the notification later."""


class S3Client(Protocol):
    """The part of a boto3 S3 client the ingester uses."""

    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


class S3ObjectIngester:
    def __init__(self, control_plane: ControlPlane, mapping: Mapping[str, str], s3_client: S3Client, *,
                 enforcer: Enforcer | None = None, max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        """`mapping`: `bucket/prefix` (optionally `s3://`-prefixed) -> dataset URN; the longest match wins.
        `enforcer` (default `build_enforcer(control_plane)`) checks each row's schema, contract and PII."""
        unknown = sorted(urn for urn in mapping.values() if urn not in control_plane.datasets)
        if unknown:
            raise SignalFactoryError(
                f"S3 mapping names datasets the control plane does not define: {unknown}; "
                f"known datasets: {sorted(control_plane.datasets)}")
        self.cp = control_plane
        self._mapping = sorted(((p.removeprefix("s3://"), urn) for p, urn in mapping.items()),
                               key=lambda t: len(t[0]), reverse=True)
        self._s3 = s3_client
        self._max_bytes = max_object_bytes
        self._clock = clock
        self._enforcer = enforcer or build_enforcer(control_plane)

    def handle_notification(self, body: bytes | str) -> list[Evidence]:
        """One evidence per announced object (and one FAIL per unreadable part of the notification)."""
        out: list[Evidence] = []
        for item in parse_notification(body):
            if isinstance(item, MalformedNotification):
                out.append(self._malformed(item, body))
            else:
                out.append(self.handle_object(item))
        return out

    def dataset_for(self, bucket: str, key: str) -> str | None:
        path = f"{bucket}/{key}"
        return next((urn for prefix, urn in self._mapping if path.startswith(prefix)), None)

    def handle_object(self, ref: ObjectRef) -> Evidence:
        urn = self.dataset_for(ref.bucket, ref.key)
        if urn is None:
            g1 = GateResult(G1_RESOLUTION, FAIL, f"UNMAPPED_OBJECT:{ref.bucket}",
                            {"message": f"no dataset is mapped to {ref.uri}; add its bucket/prefix to the S3 mapping",
                             "known_prefixes": [p for p, _ in self._mapping]})
            return self._evidence(ref, UNRESOLVED_DATASET, [g1], FAIL, [g1.reason_code or ""], None)
        g1 = GateResult(G1_RESOLUTION, PASS, None, {"dataset_urn": urn})
        dataset = self.cp.datasets[urn]
        contract = self.cp.contract_for(dataset)
        try:
            rows, meta = self._fetch(ref, contract)
        except UnreadableObject as e:
            code = f"OBJECT_UNREADABLE:{e.reason}"
            g3 = GateResult(G3_SCHEMA, FAIL, code, {"message": str(e)})
            return self._evidence(ref, urn, [g1, g3], FAIL, [code], None)
        gates, result, codes = _check_rows(self._enforcer, urn, contract, rows)
        g4 = next(g for g in gates if g.gate == G4_CONTRACT)
        g4.details = {**(g4.details or {}), **meta}
        return self._evidence(ref, urn, [g1, *gates], result, codes, meta.get("last_modified_ms"))

    def _fetch(self, ref: ObjectRef, contract: CompiledContract | None) -> tuple[list[Any], dict[str, Any]]:
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
        fmt = detect_format(ref.key, response.get("ContentType"))
        meta: dict[str, Any] = {"format": fmt, "bytes": len(data)}
        etag = str(response.get("ETag") or "").strip('"')
        if ref.etag and etag and etag != ref.etag:
            meta["etag_read"] = etag  # overwritten since the notification: we checked the newer version
        modified = response.get("LastModified")
        if modified is not None:
            meta["last_modified_ms"] = int(modified.timestamp() * 1000)
        return read_rows(data, fmt, contract), meta

    def _evidence(self, ref: ObjectRef, urn: str, gates: list[GateResult], result: str, codes: list[str],
                  modified_ms: int | None) -> Evidence:
        event_ms = modified_ms if modified_ms is not None else ref.event_time_ms
        key = f"{ref.bucket}\x00{ref.key}\x00{ref.etag or ''}".encode()
        present = {g.gate for g in gates}
        full = sorted(gates + [GateResult(g, SKIP, None, {"reason": "not applicable to object writes"})
                               for g in (G3_SCHEMA, G4_CONTRACT, G5_PII) if g not in present], key=lambda g: g.gate)
        return guard_evidence(Evidence(  # object keys, metadata and row values are producer-controlled
            evidence_id="evd-" + keyed_ulid(_id_time(ref, modified_ms), key),
            timestamp=iso_ms(int(self._clock() * 1000)), dataset_urn=urn, producer=_PRODUCER,
            validation=Validation(result, full, [g.gate for g in full if g.result == FAIL], codes),
            source=Source(origin=ORIGIN, input_dataset=ref.uri, source_record_id=ref.etag,
                          timestamp=iso_ms(event_ms) if event_ms is not None else None)))

    def _malformed(self, bad: MalformedNotification, body: bytes | str) -> Evidence:
        raw = body.encode() if isinstance(body, str) else body
        # Charged to the bucket's dataset only when the bucket holds exactly one.
        in_bucket = {u for p, u in self._mapping if bad.bucket and p.split("/")[0] == bad.bucket}
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


_RANK = {SKIP: 0, PASS: 1, WARN: 2, FAIL: 3}


def _check_rows(enforcer: Enforcer, urn: str, contract: CompiledContract | None,
                rows: list[Any]) -> tuple[list[GateResult], str, list[str]]:
    """G3-G5 over every row, by the enforcer's rules: ([g3, g4, g5], overall result, reason codes most
    frequent first). Each object gate is its worst row's (G4 also counts the rows by verdict)."""
    passed = warned = failed = 0
    counts: Counter[str] = Counter()
    worst: dict[str, GateResult] = {}
    for row in rows:
        if isinstance(row, BadRow):
            failed += 1
            counts[row.reason_code] += 1
            continue
        result, gates, codes = enforcer.check_row(urn, row)
        for g in gates:
            seen = worst.get(g.gate)
            if seen is None or _RANK.get(g.result, 0) > _RANK.get(seen.result, 0):
                worst[g.gate] = g
        counts.update(dict.fromkeys(codes, 1))
        if result == FAIL:
            failed += 1
        elif result == WARN:
            warned += 1
        else:
            passed += 1
    ranked = counts.most_common(_TOP_CODES)
    top = [{"reason_code": c, "count": n} for c, n in ranked]
    details: dict[str, Any] = {"rows": len(rows), "passed": passed, "warned": warned, "failed": failed,
                               "top_reason_codes": top}
    if contract is not None:
        details["contract_id"] = contract.contract_id
    g3 = [worst[G3_SCHEMA]] if G3_SCHEMA in worst else []
    g5 = [worst[G5_PII]] if G5_PII in worst else []
    if not rows:
        return [GateResult(G4_CONTRACT, WARN, "EMPTY_OBJECT", details)], WARN, ["EMPTY_OBJECT"]
    result = FAIL if failed else WARN if warned else PASS
    g4 = worst.get(G4_CONTRACT)
    g4_result = FAIL if any(isinstance(r, BadRow) for r in rows) else g4.result if g4 is not None else SKIP
    if g4_result == SKIP:
        details["reason"] = "no contract configured for this dataset" if contract is None else "no row decoded"
        return [*g3, GateResult(G4_CONTRACT, SKIP, None, details), *g5], result, [c for c, _ in ranked]
    g4_codes = [c for c, _ in ranked if g4_result != PASS]
    headline = g4_codes[0] if g4_codes else None
    return [*g3, GateResult(G4_CONTRACT, g4_result, headline, details), *g5], result, [c for c, _ in ranked]
