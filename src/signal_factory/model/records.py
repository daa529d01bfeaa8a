"""What the enforcer consumes: one raw Kafka-like record, already split from its transport."""

from __future__ import annotations

from typing import Any

import msgspec

CREATE_TIME = "CREATE_TIME"
LOG_APPEND_TIME = "LOG_APPEND_TIME"

_UNSET: Any = msgspec.UNSET


class RawRecord(msgspec.Struct, kw_only=True):
    """One record as a transport delivered it.

    `value` is the raw bytes (JSON text, or a Confluent wire-format frame); `value_obj` is set instead
    when the input already carried a decoded JSON object (the plain form). `origin` says where the
    record came from (`file:line`, `kafka:topic/partition@offset`) for error messages.
    """

    topic: str | None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    timestamp_type: str = CREATE_TIME
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    key: str | None = None
    value: bytes | None = None
    value_obj: Any = _UNSET
    origin: str = ""


class MalformedInput(msgspec.Struct, kw_only=True):
    """A line or message that could not even be split into a record. Becomes FAIL evidence."""

    reason_code: str
    message: str
    origin: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
