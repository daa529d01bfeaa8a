"""JSON lines -> `RawRecord`s. Two forms, detected per line:

kcat `-J` envelope (what `kcat -C -J -t TOPIC` prints):
    {"topic": "raw.orders.events", "partition": 4, "offset": 9918273, "tstype": "create",
     "ts": 1705312682127, "broker": 1, "headers": ["x-obs-trace-id", "ab91...", ...],
     "key": "ORD-1", "payload": "{\"event_id\": ...}"}
Plain form (for hand-written files and HTTP ingest):
    {"topic": "raw.orders.events", "partition": 0, "offset": 7, "timestamp": "2024-01-15T09:58:02.127Z",
     "headers": {"x-obs-producer-service": "orders-svc"}, "key": null,
     "value": {...} | "<JSON text>" | null, "value_b64": "<base64 bytes, e.g. Confluent wire format>"}
`timestamp` may be ISO-8601 or epoch milliseconds. A line that is not JSON, or JSON that is neither
form, becomes a `MalformedInput` (then FAIL evidence) - never an exception, never dropped. Stable codes:
`MALFORMED_RECORD:json` (not a JSON object), `:encoding` (not UTF-8, or a lone UTF-16 surrogate escape),
`:depth` (nested deeper than `MAX_DEPTH`), `:timestamp` (not a time, or outside years 2-9998),
`:partition`/`:offset` (not a Kafka int32/int64 >= 0), `:headers`, `:topic`, `:value_b64`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from signal_factory.model.nesting import DEPTH_CODE, DEPTH_MESSAGE, may_be_too_deep, too_deep
from signal_factory.model.records import CREATE_TIME, LOG_APPEND_TIME, MalformedInput, RawRecord
from signal_factory.model.timefmt import epoch_ms_of
from signal_factory.sources.lines import numbered_lines

# Kafka's own bounds: a partition is an int32, an offset an int64 (both >= 0). Larger ones would
# also overflow the stores' integer columns.
_MAX_COORD = {"partition": 2**31 - 1, "offset": 2**63 - 1}
_CONTAINERS = (dict, list)

_UNSET: Any = msgspec.UNSET


class _Line(msgspec.Struct):
    """Union of both forms' keys; which are present decides the form."""

    topic: Any = None
    partition: Any = None
    offset: Any = None
    tstype: Any = None
    ts: Any = None
    timestamp: Any = None
    timestamp_type: Any = None
    headers: Any = None
    key: Any = None
    payload: Any = _UNSET
    value: Any = _UNSET
    value_b64: Any = None


_line_decoder = msgspec.json.Decoder(_Line)


def _headers(raw: Any) -> dict[str, str] | None:
    """kcat flat list [k, v, k, v], a list of pairs, or a mapping -> {lowercased key: value}."""
    if raw is None:
        return {}
    if type(raw) is list and raw and type(raw[0]) is str and not len(raw) % 2:
        # kcat's flat list of strings (a str first item rules out the pairs form): the same dict as
        # `_headers_general`, without its per-item conversions; any non-str item goes the long way.
        out: dict[str, str] = {}
        for i in range(0, len(raw), 2):
            k = raw[i]
            v = raw[i + 1]
            if type(k) is not str or type(v) is not str:
                return _headers_general(raw)
            out[k.lower()] = v
        return out
    return _headers_general(raw)


def _headers_general(raw: Any) -> dict[str, str] | None:
    """Scalars are stringified (null is ""); a name or value that is itself a list or object is not a
    header (None: `MALFORMED_RECORD:headers`)."""
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        pairs: Any = raw.items()
    elif isinstance(raw, list):
        if raw and all(isinstance(x, list | tuple) and len(x) == 2 for x in raw):
            pairs = raw
        elif len(raw) % 2 == 0:
            pairs = zip(raw[::2], raw[1::2], strict=True)
        else:
            return None
    else:
        return None
    for k, v in pairs:
        if isinstance(k, dict | list) or isinstance(v, dict | list):
            return None
        out[str(k).lower()] = "" if v is None else str(v)
    return out


def _epoch_ms(value: Any) -> int | str | None:
    """ms since epoch from int/float/ISO text; 'bad' when unparseable or outside years 2-9998."""
    if value is None:
        return None
    ms = epoch_ms_of(value)
    return "bad" if ms is None else ms


def _malformed(code: str, message: str, origin: str, line: _Line | None = None) -> MalformedInput:
    if line is None:
        return MalformedInput(reason_code=code, message=message, origin=origin)
    ts = _epoch_ms(line.ts if line.ts is not None else line.timestamp)
    return MalformedInput(
        reason_code=code, message=message, origin=origin,
        topic=line.topic if isinstance(line.topic, str) else None,
        partition=line.partition if _coordinate(line.partition, "partition") else None,
        offset=line.offset if _coordinate(line.offset, "offset") else None,
        timestamp_ms=ts if isinstance(ts, int) else None)


def parse_line(data: bytes | str, origin: str, default_topic: str | None = None) -> RawRecord | MalformedInput:
    """One JSON line -> a record, or a `MalformedInput` saying exactly what is wrong."""
    try:
        line = _line_decoder.decode(data)
    except msgspec.DecodeError as e:
        if _bad_text(data, str(e)):
            return _malformed("MALFORMED_RECORD:encoding",
                              f"line is not UTF-8 text (or holds a lone UTF-16 surrogate): {e}", origin)
        return _malformed("MALFORMED_RECORD:json", f"line is not a JSON object: {e}", origin)
    except RecursionError:
        return _malformed(DEPTH_CODE, DEPTH_MESSAGE, origin)
    # A key or plain-form value that is itself JSON may nest too deep (`payload` text: the schema gate checks;
    # headers never nest: a list or object inside them is MALFORMED_RECORD:headers). kcat lines skip the scan.
    if (type(line.value) in _CONTAINERS or type(line.key) in _CONTAINERS) and may_be_too_deep(data) \
            and (too_deep(line.key) or too_deep(line.value)):
        return _malformed(DEPTH_CODE, DEPTH_MESSAGE, origin, line)
    topic = line.topic if line.topic is not None else default_topic
    if not isinstance(topic, str) or not topic:
        return _malformed("MALFORMED_RECORD:topic", "record has no `topic` (and no --topic default)",
                          origin, line)
    for name, v in (("partition", line.partition), ("offset", line.offset)):
        if v is not None and not _coordinate(v, name):
            return _malformed(f"MALFORMED_RECORD:{name}",
                              f"`{name}` must be an integer from 0 to {_MAX_COORD[name]}", origin, line)
    headers = _headers(line.headers)
    if headers is None:
        return _malformed("MALFORMED_RECORD:headers",
                          "`headers` must be a mapping, a list of pairs, or kcat's flat [k, v, ...] list",
                          origin, line)
    ts = _epoch_ms(line.ts if line.ts is not None else line.timestamp)
    if ts == "bad":
        return _malformed("MALFORMED_RECORD:timestamp",
                          "timestamp is neither epoch ms nor ISO-8601 within years 2-9998 UTC", origin, line)
    ts_type = LOG_APPEND_TIME if (line.tstype == "logappend" or line.timestamp_type == LOG_APPEND_TIME) \
        else CREATE_TIME
    record = RawRecord(topic=topic, partition=line.partition, offset=line.offset,
                       timestamp_ms=ts if isinstance(ts, int) else None, timestamp_type=ts_type,
                       headers=headers, key=None if line.key is None else str(line.key), origin=origin)
    if line.value_b64 is not None:
        try:
            record.value = base64.b64decode(line.value_b64, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return _malformed("MALFORMED_RECORD:value_b64", "`value_b64` is not valid base64", origin, line)
        return record
    value = line.payload if line.payload is not _UNSET else line.value
    if value is _UNSET or value is None:
        record.value = None
    elif isinstance(value, str):
        # kcat prints bytes as text; latin-1 round-trips a wire-format frame's raw bytes exactly.
        record.value = value.encode("latin-1") if value[:1] == "\x00" and _is_latin1(value) \
            else value.encode("utf-8", "surrogatepass")
    else:
        record.value_obj = value
    return record


def _coordinate(value: Any, name: str) -> bool:
    return type(value) is int and 0 <= value <= _MAX_COORD[name]


def _bad_text(data: bytes | str, error: str) -> bool:
    """Did decoding fail on the text encoding rather than the JSON grammar?"""
    if "surrogate" in error:
        return True
    if isinstance(data, str):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def read_lines(lines: Iterable[bytes], name: str, default_topic: str | None = None,
               ) -> Iterator[RawRecord | MalformedInput]:
    """Parse an iterable of raw lines split at `\\n` (the rule of `sources.lines`), numbering origins
    `name:line`."""
    for number, line in numbered_lines(lines):
        yield parse_line(line, f"{name}:{number}", default_topic)
