"""Hostile input: every named class of bad bytes is exactly one FAIL evidence with a stable code."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer, record_id
from signal_factory.model.evidence import FAIL, G3_SCHEMA, encode_evidence_lines
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.model.storable import NORMALISED
from signal_factory.sources.jsonlines import parse_line
from tests.conftest import envelope, order_payload, record

SEED_LINE = json.loads((Path(__file__).parents[2] / "examples/orders/records/scenario1-record.jsonl").read_text())
DEEP = "[" * 5000 + "]" * 5000


def kcat(**changes: Any) -> bytes:
    doc = {**SEED_LINE, **changes}
    return json.dumps(doc).encode()


def payload_with(**changes: Any) -> str:
    inner = json.loads(SEED_LINE["payload"])
    inner.update(changes)
    return json.dumps(inner)


def one(enforcer: Enforcer, line: bytes) -> Any:
    batch = enforcer.process([parse_line(line, "t:1")])
    assert batch.count() == 1
    assert len(batch.evidence) == 1
    encode_evidence_lines(batch.evidence)  # must be encodable, as every sink encodes it
    return batch.evidence[0]


@pytest.mark.parametrize(("line", "code"), [
    (kcat(ts=253402300800000), "MALFORMED_RECORD:timestamp"),
    (kcat(ts=1e300), "MALFORMED_RECORD:timestamp"),
    (kcat(ts=-62135596800001), "MALFORMED_RECORD:timestamp"),
    (kcat(ts=None, timestamp="0001-01-01T00:00:00+14:00"), "MALFORMED_RECORD:timestamp"),
    (kcat(ts=None, payload=payload_with(timestamp="0001-01-01T00:00:00+14:00")), "MALFORMED_RECORD:timestamp"),
    (kcat(ts=None, payload=payload_with(timestamp="9999-12-31T23:59:59-14:00")), "MALFORMED_RECORD:timestamp"),
    (kcat(payload='{"a":' + DEEP + "}"), "MALFORMED_RECORD:depth"),
    (b'{"topic":"raw.orders.events","value":{"a":' + DEEP.encode() + b"}}", "MALFORMED_RECORD:depth"),
    (b'{"topic":"raw.orders.events","headers":' + DEEP.encode() + b',"value":{}}', "MALFORMED_RECORD:depth"),
    (b'{"topic":"raw.orders.events","key":' + DEEP.encode() + b',"value":{}}', "MALFORMED_RECORD:depth"),
    (b'{"topic":"raw.orders.events","value":' + b"[" * 65 + b"]" * 65 + b"}", "MALFORMED_RECORD:depth"),
    (b'{"topic":"raw.orders.events","key":"\xff\xfe","value":{}}', "MALFORMED_RECORD:encoding"),
    (b'{"topic":"raw.orders.events","key":"\\ud800","value":{}}', "MALFORMED_RECORD:encoding"),
    (b'{"topic":"raw.orders.events","ts":NaN,"value":{}}', "MALFORMED_RECORD:json"),
    (b'{"topic":"raw.orders.events","ts":1e999,"value":{}}', "MALFORMED_RECORD:json"),
    (b'{"topic":"raw.orders.events","partition":' + b"9" * 30 + b',"offset":1,"value":{}}',
     "MALFORMED_RECORD:partition"),
    (b'{"topic":"raw.orders.events","partition":0,"offset":-1,"value":{}}', "MALFORMED_RECORD:offset"),
    (kcat(headers=["x-obs-schema-id"]), "MALFORMED_RECORD:headers"),
    (kcat(headers=7), "MALFORMED_RECORD:headers"),
    (kcat(headers=[["a", {"b": 1}]]), "MALFORMED_RECORD:headers"),
    (b'{"topic":"raw.orders.events","value_b64":"not base64!"}', "MALFORMED_RECORD:value_b64"),
    (b'{"topic":"raw.orders.events","value":null}', "EMPTY_VALUE:value"),
])
def test_hostile_line_is_one_fail_evidence_with_a_stable_code(full_enforcer: Enforcer, line: bytes, code: str) -> None:
    """Out-of-range times, deep nesting, bad encodings, odd headers and numbers: one FAIL with its code."""
    ev = one(full_enforcer, line)
    assert code in ev.validation.reason_codes
    assert ev.validation.result == FAIL or code == "EMPTY_VALUE:value"


def test_deep_but_allowed_nesting_is_judged_by_the_gates(full_enforcer: Enforcer) -> None:
    """64 levels is still a record: the gates judge it (no depth code)."""
    deep = "[" * 63 + "]" * 63
    ev = one(full_enforcer, kcat(payload=payload_with(extra=json.loads(deep))))
    assert "MALFORMED_RECORD:depth" not in ev.validation.reason_codes


@pytest.mark.parametrize("where", ["topic", "header-name", "schema-id", "producer", "key", "payload-key", "enum"])
def test_nul_anywhere_is_replaced_and_flagged(full_enforcer: Enforcer, where: str) -> None:
    """A NUL in any producer field never reaches the evidence: the guard's stand-ins replace it in reason codes
    and mapped names, U+FFFD (flagged in G3's details) wherever else it would land; the verdict stands."""
    headers = list(SEED_LINE["headers"])
    changes: dict[str, Any] = {}
    if where == "topic":
        changes["topic"] = "raw.orders.events\u0000"
    elif where == "header-name":
        changes["headers"] = [*headers, "x-\u0000", "v"]
    elif where == "schema-id":
        changes["headers"] = [*headers, "x-obs-schema-id", "glue:\u0000"]
    elif where == "producer":
        changes["headers"] = [*headers, "x-obs-producer-service", "svc\u0000"]
    elif where == "key":
        changes["key"] = "ORD\u0000"
    elif where == "payload-key":
        changes["payload"] = json.dumps(envelope({**order_payload(), "x\u0000": 1}))
    else:
        changes["payload"] = json.dumps(envelope(order_payload(currency="US\u0000")))
    ev = one(full_enforcer, kcat(**changes))
    encoded = encode_evidence_lines([ev])
    assert b"\\u0000" not in encoded
    g3 = next(g for g in ev.validation.gates if g.gate == G3_SCHEMA)
    assert "\u0000" not in json.dumps(msgspec.to_builtins(ev), ensure_ascii=False)
    assert ("\ufffd" in encoded.decode()) == ((g3.details or {}).get(NORMALISED) is True)
    if where in ("schema-id", "enum"):  # the failure the NUL caused is still reported, as a guarded code
        assert any(c.startswith(("UNKNOWN_SCHEMA:", "PATTERN_MISMATCH:", "UNKNOWN_ENUM:"))
                   for c in ev.validation.reason_codes)


def test_lone_surrogates_from_a_python_caller_are_storable(full_enforcer: Enforcer) -> None:
    """A RawRecord built in Python with lone surrogates (topic, headers, key, payload) gives one encodable evidence."""
    rec = RawRecord(topic="raw.\ud800orders", partition=None, offset=None, headers={"x-obs-schema-id": "\udc00"},
                    key="\ud800", value_obj={"\ud800": "\udfff"})
    batch = full_enforcer.process([rec])
    assert len(batch.evidence) == 1
    assert not batch.evidence[0].validation.reason_codes[0].startswith("INTERNAL_ERROR")
    encode_evidence_lines(batch.evidence).decode()  # strict UTF-8: no surrogate survived


def test_kafka_timestamps_outside_years_1_to_9999_are_malformed(full_enforcer: Enforcer) -> None:
    """A made-up CreateTime (RawRecord straight from a transport) is FAIL MALFORMED_RECORD:timestamp."""
    times = (2**62, -(2**62), 253402300800000)
    recs = [record(envelope(order_payload()), ts=ts, offset=i) for i, ts in enumerate(times)]
    batch = full_enforcer.process(recs)
    assert [e.validation.reason_codes for e in batch.evidence] == [["MALFORMED_RECORD:timestamp"]] * 3
    assert [e.source.offset for e in batch.evidence if e.source] == [0, 1, 2]


def test_tombstone_without_offset_has_an_id(full_enforcer: Enforcer) -> None:
    """A plain-form null value with no Kafka coordinates (it raised TypeError in `record_id`) is one WARN."""
    rec = parse_line(b'{"topic":"raw.orders.events","value":null}', "f:1")
    assert record_id(rec, 0) == record_id(rec, 0)
    assert len(full_enforcer.process([rec]).evidence) == 1


class _Buggy(Enforcer):
    """A gate bug stand-in: `_one` raises for records whose key is BOOM."""

    def _one(self, evidence_id: str, stamp: str, rec: RawRecord) -> Any:
        if rec.key == "BOOM":
            raise KeyError("gate bug")
        return super()._one(evidence_id, stamp, rec)


def test_error_boundary_turns_a_bug_into_one_fail_evidence(control_plane: ControlPlane,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """An exception for one record is FAIL INTERNAL_ERROR:<type> under the record's id; the rest go on; one log."""
    enforcer = _Buggy(control_plane, clock=lambda: 1705312700.0)
    good = record(envelope(order_payload()), offset=1)
    bad = [record(envelope(order_payload()), offset=o) for o in (2, 3)]
    for b in bad:
        b.key = "BOOM"
    with caplog.at_level(logging.ERROR, logger="signal_factory.enforcer"):
        batch = enforcer.process([good, *bad])
    codes = [e.validation.reason_codes for e in batch.evidence]
    assert codes[1:] == [["INTERNAL_ERROR:KeyError"]] * 2
    assert batch.evidence[1].evidence_id == "evd-" + record_id(bad[0], 0)
    assert batch.evidence[1].dataset_urn == "urn:dp:orders:created"
    assert enforcer.internal_errors == {"KeyError": 2}
    assert len([r for r in caplog.records if "KeyError" in r.getMessage()]) == 1


def test_malformed_input_keeps_its_coordinates(full_enforcer: Enforcer) -> None:
    """A bad timestamp still names the topic, partition and offset it came from."""
    ev = one(full_enforcer, kcat(ts=1e300))
    assert ev.source is not None
    assert (ev.source.topic, ev.source.partition, ev.source.offset) == ("raw.orders.events", 4, 9918273)
    assert isinstance(parse_line(kcat(ts=1e300), "t:1"), MalformedInput)
