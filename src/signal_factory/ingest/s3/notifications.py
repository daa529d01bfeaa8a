"""S3 `ObjectCreated:*` notifications in every delivery shape -> `ObjectRef`s. Pure: text in, values out.

Shapes: the S3 event itself (`Records[].s3`), an SQS message whose body is that event, an SQS message
whose body is an SNS envelope (`Type: Notification`, `Message` = the S3 event JSON), Lambda batches of
SQS or SNS records, and EventBridge (`detail-type: Object Created`). S3 event keys are URL-encoded
(`+` for space) and are decoded here; EventBridge keys are taken as given. A shape that cannot be read
is a `MalformedNotification` value, never an exception. Other S3 events (deletes, `s3:TestEvent`) are
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from signal_factory.model.timefmt import parse_iso_ms

_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One created object, as the notification names it."""

    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None
    event_time_ms: int | None = None
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class MalformedNotification:
    """A notification (or one record of it) that does not say which object was created."""

    reason_code: str
    message: str
    bucket: str | None = None


Parsed = ObjectRef | MalformedNotification
_TOO_DEEP = MalformedNotification("MALFORMED_NOTIFICATION:nesting", "JSON nested too deeply to read")


def parse_notification(body: bytes | str) -> list[Parsed]:
    """Every object a notification body announces (in order), and what could not be read."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        return [MalformedNotification("MALFORMED_NOTIFICATION:json", f"notification body is not JSON: {e}")]
    except RecursionError:
        return [_TOO_DEEP]
    return _parse(doc, 0)


def _parse(doc: Any, depth: int) -> list[Parsed]:
    if depth > _MAX_DEPTH:
        return [MalformedNotification("MALFORMED_NOTIFICATION:nesting", "envelopes nested too deeply")]
    if not isinstance(doc, dict):
        return [MalformedNotification("MALFORMED_NOTIFICATION:shape",
                                      f"expected a JSON object, got {type(doc).__name__}")]
    if doc.get("Type") == "Notification" and "Message" in doc:  # SNS envelope (SQS body, raw delivery off)
        return _parse_text(doc["Message"], depth, "SNS Message")
    if doc.get("Event") == "s3:TestEvent":
        return []
    if "detail-type" in doc:
        return _eventbridge(doc)
    records = doc.get("Records")
    if isinstance(records, list):
        out: list[Parsed] = []
        for i, rec in enumerate(records):
            out.extend(_record(rec, i, depth))
        return out
    if "body" in doc and isinstance(doc.get("body"), str):  # one SQS message as boto3 returns it
        return _parse_text(doc["body"], depth, "SQS body")
    return [MalformedNotification(
        "MALFORMED_NOTIFICATION:shape",
        "expected an S3 event (`Records`), an SNS envelope (`Type: Notification`), an SQS message (`body`) or "
        f"an EventBridge event (`detail-type`); got keys {sorted(doc)[:10]}")]


def _parse_text(text: Any, depth: int, where: str) -> list[Parsed]:
    if not isinstance(text, str):
        return [MalformedNotification("MALFORMED_NOTIFICATION:shape", f"{where} must be a JSON string")]
    try:
        inner = msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        return [MalformedNotification("MALFORMED_NOTIFICATION:json", f"{where} is not JSON: {e}")]
    except RecursionError:
        return [_TOO_DEEP]
    return _parse(inner, depth + 1)


def _record(rec: Any, i: int, depth: int) -> list[Parsed]:
    if not isinstance(rec, dict):
        return [MalformedNotification("MALFORMED_NOTIFICATION:shape", f"Records[{i}] is not an object")]
    source = rec.get("eventSource") or rec.get("EventSource")
    if source == "aws:sqs":
        return _parse_text(rec.get("body"), depth, f"Records[{i}].body")
    if source == "aws:sns":
        sns = rec.get("Sns")
        return _parse_text(sns.get("Message") if isinstance(sns, dict) else None, depth, f"Records[{i}].Sns.Message")
    name = rec.get("eventName")
    if isinstance(name, str) and not name.startswith("ObjectCreated:"):
        return []  # deletes, restores, replication: not a write to check
    s3 = rec.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    bucket_name = bucket.get("name") if isinstance(bucket, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not isinstance(bucket_name, str) or not bucket_name:
        return [MalformedNotification("MALFORMED_NOTIFICATION:bucket", f"Records[{i}].s3.bucket.name is missing")]
    if not isinstance(key, str) or not key or not isinstance(obj, dict):
        return [MalformedNotification("MALFORMED_NOTIFICATION:key", f"Records[{i}].s3.object.key is missing",
                                      bucket_name)]
    time = rec.get("eventTime")
    return [ObjectRef(bucket_name, unquote_plus(key), _str(obj.get("eTag") or obj.get("etag")), _int(obj.get("size")),
                      parse_iso_ms(time) if isinstance(time, str) else None, _str(obj.get("versionId")))]


def _eventbridge(doc: dict[str, Any]) -> list[Parsed]:
    if doc.get("detail-type") != "Object Created":
        return []
    detail = doc.get("detail")
    bucket = detail.get("bucket") if isinstance(detail, dict) else None
    obj = detail.get("object") if isinstance(detail, dict) else None
    bucket_name = bucket.get("name") if isinstance(bucket, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not isinstance(bucket_name, str) or not bucket_name:
        return [MalformedNotification("MALFORMED_NOTIFICATION:bucket", "detail.bucket.name is missing")]
    if not isinstance(key, str) or not key or not isinstance(obj, dict):
        return [MalformedNotification("MALFORMED_NOTIFICATION:key", "detail.object.key is missing", bucket_name)]
    time = doc.get("time")
    return [ObjectRef(bucket_name, key, _str(obj.get("etag")), _int(obj.get("size")),
                      parse_iso_ms(time) if isinstance(time, str) else None, _str(obj.get("version-id")))]


def _str(v: Any) -> str | None:
    return v.strip('"') if isinstance(v, str) and v else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
