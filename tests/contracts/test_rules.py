"""ODCS clauses compile to per-field checks with the right reason code and severity (one table)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.rules import CompiledContract, check_payload

CONTRACT = """
apiVersion: v3.0.2
kind: DataContract
id: dc:test:1
version: 1.0.0
status: active
schema:
  - name: t
    properties:
      - {name: id, logicalType: string, required: true, logicalTypeOptions: {pattern: "^T-[0-9]+$"}}
      - {name: qty, logicalType: integer, logicalTypeOptions: {minimum: 1, maximum: 10}}
      - {name: price, logicalType: number, logicalTypeOptions: {exclusiveMinimum: 0}}
      - {name: code, logicalType: string, logicalTypeOptions: {minLength: 2, maxLength: 4}}
      - {name: mail, logicalType: string, logicalTypeOptions: {format: email}}
      - {name: secret_mail, logicalType: string, classification: pii, logicalTypeOptions: {format: email}}
      - {name: day, logicalType: date}
      - {name: at, logicalType: timestamp}
      - {name: flag, logicalType: boolean}
      - name: status
        logicalType: string
        quality: [{metric: invalidValues, arguments: {validValues: [A, B]}, mustBe: 0, severity: warning}]
      - name: kind
        logicalType: string
        quality: [{metric: invalidValues, arguments: {validValues: [X, Y]}, mustBe: 0}]
      - name: soft
        logicalType: string
        required: true
        customProperties: [{property: severity, value: warning}]
      - name: addr
        logicalType: object
        properties:
          - {name: zip, logicalType: string, required: true}
      - name: items
        logicalType: array
        items:
          logicalType: object
          properties:
            - {name: sku, logicalType: string, required: true}
"""

BASE: dict[str, Any] = {"id": "T-1", "soft": "s"}


@pytest.fixture(scope="module")
def contract() -> CompiledContract:
    return compile_contract(OpenDataContractStandard.model_validate(yaml.safe_load(CONTRACT)))


@pytest.mark.parametrize(("patch", "expected"), [
    ({}, []),
    ({"id": None}, [("FAIL", "MISSING_FIELD:id")]),
    ({"id": "X-1"}, [("FAIL", "PATTERN_MISMATCH:id")]),
    ({"id": 7}, [("FAIL", "TYPE_MISMATCH:id")]),
    ({"qty": 0}, [("FAIL", "OUT_OF_RANGE:qty")]),
    ({"qty": 11}, [("FAIL", "OUT_OF_RANGE:qty")]),
    ({"qty": 2.5}, [("FAIL", "TYPE_MISMATCH:qty")]),
    ({"qty": True}, [("FAIL", "TYPE_MISMATCH:qty")]),
    ({"price": 0}, [("FAIL", "OUT_OF_RANGE:price")]),
    ({"price": 3}, []),
    ({"code": "A"}, [("FAIL", "LENGTH_OUT_OF_RANGE:code")]),
    ({"code": "ABCDE"}, [("FAIL", "LENGTH_OUT_OF_RANGE:code")]),
    ({"mail": "nope"}, [("FAIL", "INVALID_FORMAT:mail")]),
    ({"day": "2024-13"}, [("FAIL", "TYPE_MISMATCH:day")]),
    ({"day": "2024-01-15"}, []),
    ({"at": "yesterday"}, [("FAIL", "TYPE_MISMATCH:at")]),
    ({"at": "2024-01-15T09:58:02.100Z"}, []),
    ({"flag": "yes"}, [("FAIL", "TYPE_MISMATCH:flag")]),
    ({"status": "C"}, [("WARN", "UNKNOWN_ENUM:status:C")]),
    ({"kind": "Z"}, [("FAIL", "UNKNOWN_ENUM:kind:Z")]),
    ({"soft": None}, [("WARN", "MISSING_FIELD:soft")]),
    ({"addr": {}}, [("FAIL", "MISSING_FIELD:addr.zip")]),
    ({"addr": {"zip": "1011"}}, []),
    ({"items": [{"sku": "a"}, {}]}, [("FAIL", "MISSING_FIELD:items[].sku")]),
    ({"id": None, "status": "C"}, [("FAIL", "MISSING_FIELD:id"), ("WARN", "UNKNOWN_ENUM:status:C")]),
])
def test_clause_table(contract: CompiledContract, patch: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    """Each clause yields its stable reason code and the severity the contract gives it."""
    payload = {**BASE, **{k: v for k, v in patch.items() if v is not None}}
    for k, v in patch.items():
        if v is None:
            payload.pop(k, None)
    got = [(v.severity, v.reason_code) for v in check_payload(contract, payload)]
    assert got == expected


def test_optional_missing_object_does_not_demand_its_children(contract: CompiledContract) -> None:
    """A required child of an optional object is only required when the object is present."""
    assert check_payload(contract, dict(BASE)) == []


def test_classified_values_never_appear_in_violations(contract: CompiledContract) -> None:
    """A bad value in a PII-classified field is reported as <redacted>."""
    (v,) = check_payload(contract, {**BASE, "secret_mail": "not-an-email but secret"})
    assert v.reason_code == "INVALID_FORMAT:secret_mail"
    assert v.rule["actual"] == "<redacted>"
    assert "secret" in contract.pii_fields or "secret_mail" in contract.pii_fields


def test_unknown_enum_value_that_looks_like_pii_is_not_put_in_the_code(contract: CompiledContract) -> None:
    """An enum value holding an email is kept out of the reason code; the details carry its stand-in."""
    (v,) = check_payload(contract, {**BASE, "kind": "jane.doe@example.com"})
    assert v.reason_code == "UNKNOWN_ENUM:kind"
    assert v.rule["actual"].startswith("redacted-EMAIL-")
    assert "jane" not in str(v.rule)


def test_non_object_payload_is_a_type_mismatch(contract: CompiledContract) -> None:
    """A payload that is not an object fails the contract as a whole."""
    assert [v.reason_code for v in check_payload(contract, [1, 2])] == ["TYPE_MISMATCH:$"]
