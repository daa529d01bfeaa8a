"""Kafka message -> RawRecord, against an in-memory stand-in for confluent_kafka.Message."""

from __future__ import annotations

from dataclasses import dataclass, field

from signal_factory.model.records import CREATE_TIME, LOG_APPEND_TIME, RawRecord
from signal_factory.transports.kafka.records import to_raw_record


@dataclass
class FakeMessage:
    _value: bytes | None = b'{"a": 1}'
    _key: bytes | None = b"ORD-1"
    _headers: list[tuple[str, bytes | None]] | None = field(
        default_factory=lambda: [("X-Obs-Producer-Service", b"orders-svc"), ("x-empty", None)])
    _ts: tuple[int, int] = (1, 1705312500000)

    def topic(self) -> str:
        return "raw.orders.events"

    def partition(self) -> int:
        return 3

    def offset(self) -> int:
        return 42

    def timestamp(self) -> tuple[int, int]:
        return self._ts

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._headers

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value


def test_message_becomes_raw_record() -> None:
    """Coordinates, lowercased headers, key text, value bytes and origin are carried over."""
    rec = to_raw_record(FakeMessage())
    assert isinstance(rec, RawRecord)
    assert (rec.topic, rec.partition, rec.offset) == ("raw.orders.events", 3, 42)
    assert rec.headers == {"x-obs-producer-service": "orders-svc", "x-empty": ""}
    assert rec.key == "ORD-1"
    assert rec.value == b'{"a": 1}'
    assert rec.timestamp_ms == 1705312500000
    assert rec.timestamp_type == CREATE_TIME
    assert rec.origin == "kafka:raw.orders.events/3@42"


def test_timestamp_types() -> None:
    """LOG_APPEND_TIME is kept; NOT_AVAILABLE leaves the timestamp unset."""
    rec = to_raw_record(FakeMessage(_ts=(2, 5)))
    assert isinstance(rec, RawRecord)
    assert (rec.timestamp_type, rec.timestamp_ms) == (LOG_APPEND_TIME, 5)
    rec = to_raw_record(FakeMessage(_ts=(0, -1)))
    assert isinstance(rec, RawRecord)
    assert rec.timestamp_ms is None


def test_undecodable_bytes_stay_bytes() -> None:
    """Non-UTF-8 keys and headers are decoded with replacement; the value is never touched."""
    rec = to_raw_record(FakeMessage(_value=b"\xff\x00", _key=b"\xff", _headers=[("k", b"\xfe")], _ts=(1, 1)))
    assert isinstance(rec, RawRecord)
    assert rec.value == b"\xff\x00"
    assert rec.key == "\ufffd"
    assert rec.headers == {"k": "\ufffd"}
