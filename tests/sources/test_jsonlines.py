"""JSON-lines input: kcat -J envelopes and the plain form, headers in every shape, clear malformed codes."""

from __future__ import annotations

import base64
import json

from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.sources.jsonlines import parse_line, read_lines


def test_kcat_envelope() -> None:
    """kcat -J: flat header list, epoch-ms ts, payload as JSON text."""
    line = json.dumps({"topic": "t", "partition": 4, "offset": 9, "tstype": "create", "ts": 1705312682127,
                       "broker": 1, "headers": ["x-obs-producer-service", "orders-svc", "X-Obs-Trace-Id", "ab"],
                       "key": "k", "payload": "{\"a\": 1}"})
    rec = parse_line(line.encode(), "f:1")
    assert isinstance(rec, RawRecord)
    assert (rec.topic, rec.partition, rec.offset, rec.timestamp_ms, rec.key) == ("t", 4, 9, 1705312682127, "k")
    assert rec.headers == {"x-obs-producer-service": "orders-svc", "x-obs-trace-id": "ab"}
    assert rec.value == b'{"a": 1}'


def test_plain_form_with_object_value_and_iso_timestamp() -> None:
    """Plain form: header mapping, ISO timestamp, value given as a JSON object."""
    line = {"topic": "t", "timestamp": "2024-01-15T09:58:02.127Z", "headers": {"a": "b"}, "value": {"x": 1}}
    rec = parse_line(json.dumps(line), "f:2")
    assert isinstance(rec, RawRecord)
    assert rec.timestamp_ms == 1705312682127
    assert rec.value_obj == {"x": 1}


def test_binary_values_via_base64_and_kcat_latin1() -> None:
    """Confluent wire-format bytes survive both value_b64 and kcat's escaped text."""
    frame = b"\x00\x00\x00\x00\x11{}"
    rec = parse_line(json.dumps({"topic": "t", "value_b64": base64.b64encode(frame).decode()}), "f:3")
    assert isinstance(rec, RawRecord)
    assert rec.value == frame
    rec2 = parse_line(json.dumps({"topic": "t", "payload": frame.decode("latin-1")}), "f:4")
    assert isinstance(rec2, RawRecord)
    assert rec2.value == frame


def test_default_topic_and_pairs_headers() -> None:
    """A line without topic takes --topic; headers as [[k, v]] pairs are accepted."""
    rec = parse_line(json.dumps({"headers": [["k", "v"]], "value": "{}"}), "f:5", default_topic="dflt")
    assert isinstance(rec, RawRecord)
    assert (rec.topic, rec.headers) == ("dflt", {"k": "v"})


def test_malformed_inputs_keep_what_they_can() -> None:
    """A bad field yields MalformedInput with the coordinates that were readable."""
    bad = parse_line(json.dumps({"topic": "t", "partition": 2, "offset": 5, "headers": 7}), "f:6")
    assert isinstance(bad, MalformedInput)
    assert (bad.reason_code, bad.topic, bad.partition, bad.offset) == ("MALFORMED_RECORD:headers", "t", 2, 5)
    bad64 = parse_line(json.dumps({"topic": "t", "value_b64": "%%%"}), "f:7")
    assert isinstance(bad64, MalformedInput)
    assert bad64.reason_code == "MALFORMED_RECORD:value_b64"


def test_read_lines_skips_blanks_and_numbers_origins() -> None:
    """Blank lines are skipped; origins carry the real line number."""
    out = list(read_lines([b'{"topic":"t","value":{}}', b"   ", b"oops"], "in.jsonl"))
    assert [o.origin for o in out] == ["in.jsonl:1", "in.jsonl:3"]
    assert isinstance(out[1], MalformedInput)
