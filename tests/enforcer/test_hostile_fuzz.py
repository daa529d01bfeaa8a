"""Property-based fuzz (hypothesis): any bytes, any JSON in any field, any mutation of a valid record, any
Python-built record -> exactly one evidence each, encodable, no NUL, and never an exception.

CI-sized: a fixed, derandomized profile (the same examples every run), a few seconds in all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import FAIL, decode_evidence, encode_evidence_lines
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.sources.jsonlines import parse_line
from tests.conftest import without_sampling

FUZZ = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEED_LINE = (Path(__file__).parents[2] / "examples/orders/records/scenario1-record.jsonl").read_bytes().strip()
FIELDS = ("topic", "partition", "offset", "ts", "timestamp", "tstype", "headers", "key", "payload", "value",
          "value_b64")

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text()
json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@pytest.fixture(scope="module")
def fuzz_enforcer(control_plane: ControlPlane) -> Enforcer:
    return Enforcer(without_sampling(control_plane), clock=lambda: 1705312700.0)


def exactly_one_each(enforcer: Enforcer, records: list[RawRecord | MalformedInput]) -> None:
    batch = enforcer.process(records)
    assert batch.count() == len(records)
    assert len(batch.evidence) == len(records)  # sampling is off: every record has its own evidence
    encoded = encode_evidence_lines(batch.evidence)
    assert b"\\u0000" not in encoded
    for ev, line in zip(batch.evidence, encoded.splitlines(), strict=True):
        assert decode_evidence(line).evidence_id == ev.evidence_id
        assert ev.validation.result != FAIL or ev.validation.reason_codes


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_are_one_evidence(fuzz_enforcer: Enforcer, data: bytes) -> None:
    """Arbitrary bytes as a line."""
    exactly_one_each(fuzz_enforcer, [parse_line(data, "fuzz:1")])


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6))
def test_any_json_in_any_field_is_one_evidence(fuzz_enforcer: Enforcer, fields: dict[str, Any]) -> None:
    """Arbitrary JSON (NaN, huge ints, lone surrogates, NUL, nesting) in the fields of both line forms."""
    line = json.dumps({"topic": "raw.orders.events", **fields}).encode()
    exactly_one_each(fuzz_enforcer, [parse_line(line, "fuzz:1")])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SEED_LINE) - 1), st.integers(0, 3), st.binary(min_size=1, max_size=4)),
                min_size=1, max_size=6))
def test_mutated_valid_record_is_one_evidence(fuzz_enforcer: Enforcer, edits: list[tuple[int, int, bytes]]) -> None:
    """The seed record with bytes replaced, inserted, deleted or duplicated at random places."""
    data = bytearray(SEED_LINE)
    for where, op, chunk in edits:
        at = min(where, len(data))
        if op == 0:
            data[at:at + len(chunk)] = chunk
        elif op == 1:
            data[at:at] = chunk
        elif op == 2:
            del data[at:at + len(chunk)]
        else:
            data[at:at] = data[at:at + 40]
    exactly_one_each(fuzz_enforcer, [parse_line(bytes(data), "fuzz:1")])


@FUZZ
@given(topic=st.none() | st.text(max_size=20), partition=st.none() | st.integers(),
       offset=st.none() | st.integers(), ts=st.none() | st.integers(),
       headers=st.dictionaries(st.text(max_size=20), st.text(max_size=30), max_size=5),
       key=st.none() | st.text(max_size=10), value=st.none() | st.binary(max_size=200),
       value_obj=st.just(None) | json_values)
def test_python_built_records_are_one_evidence(fuzz_enforcer: Enforcer, topic: str | None, partition: int | None,
                                               offset: int | None, ts: int | None, headers: dict[str, str],
                                               key: str | None, value: bytes | None, value_obj: Any) -> None:
    """A transport's RawRecord with anything in it (lone surrogates, any int): the enforcer copes alone."""
    rec = RawRecord(topic=topic, partition=partition, offset=offset, timestamp_ms=ts, headers=headers, key=key,
                    value=value, origin="fuzz")
    if value is None and value_obj is not None:
        rec.value_obj = value_obj
    exactly_one_each(fuzz_enforcer, [rec])
