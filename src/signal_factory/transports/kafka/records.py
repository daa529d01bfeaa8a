"""A confluent-kafka `Message` -> `RawRecord`. Never raises: what cannot be split is a `MalformedInput`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from signal_factory.model.records import CREATE_TIME, LOG_APPEND_TIME, MalformedInput, RawRecord

# confluent_kafka.TIMESTAMP_* values (kept here so this module imports without the client).
TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2


class KafkaMessage(Protocol):
    """The part of `confluent_kafka.Message` the conversion reads (an in-memory fake satisfies it)."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def timestamp(self) -> tuple[int, int]: ...
    def headers(self) -> Mapping[str, str | bytes | None] | Sequence[tuple[str, str | bytes | None]] | None: ...
    def key(self) -> bytes | str | None: ...
    def value(self) -> bytes | str | None: ...


def origin_of(topic: str | None, partition: int | None, offset: int | None) -> str:
    return f"kafka:{topic}/{partition}@{offset}"


def _text(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")


def to_raw_record(msg: KafkaMessage) -> RawRecord | MalformedInput:
    """Headers -> dict with lowercased names (last one wins), key as text, value bytes untouched."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    origin = origin_of(topic, partition, offset)
    ts_type, ts = msg.timestamp()
    try:
        raw = msg.headers() or ()
        pairs = raw.items() if isinstance(raw, Mapping) else raw
        headers = {k.lower(): _text(v) or "" for k, v in pairs}
    except (AttributeError, TypeError, ValueError) as e:
        return MalformedInput(reason_code="MALFORMED_RECORD:headers", message=f"unreadable Kafka headers: {e}",
                              origin=origin, topic=topic, partition=partition, offset=offset,
                              timestamp_ms=ts if ts_type != TIMESTAMP_NOT_AVAILABLE else None)
    value = msg.value()
    return RawRecord(topic=topic, partition=partition, offset=offset,
                     timestamp_ms=ts if ts_type != TIMESTAMP_NOT_AVAILABLE else None,
                     timestamp_type=LOG_APPEND_TIME if ts_type == TIMESTAMP_LOG_APPEND_TIME else CREATE_TIME,
                     headers=headers, key=_text(msg.key()),
                     value=value.encode() if isinstance(value, str) else value, origin=origin)
