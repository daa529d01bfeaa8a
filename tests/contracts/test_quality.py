"""ODCS quality rules of both generations (v3.0 `rule:`, v3.1 `metric:`), their thresholds and units, the
logicalType/logicalTypeOptions meanings, and what is reported at load instead of checked per record."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.quality import Notice, QualityRule, parse, per_record, threshold_ok
from signal_factory.contracts.rules import FAIL, WARN, CompiledContract, check_payload
from signal_factory.controlplane.loader import load_control_plane
from tests.contracts.test_rules_screen import _assert_same, _payloads

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders"

V30 = """
apiVersion: v3.0.2
kind: DataContract
id: dc:q30:1
version: 1.0.0
status: active
schema:
  - name: t
    quality:
      - {rule: rowCount, mustBeBetween: [100, 120]}
    properties:
      - name: discount_type
        logicalType: string
        quality: [{rule: validValues, validValues: [NONE, COUPON], severity: warning}]
      - name: unit
        logicalType: string
        quality: [{rule: validValues, validValues: [kg, lb], mustBe: 0}]
      - name: customer_id
        logicalType: string
        quality: [{rule: nullCheck, severity: error}]
      - name: email
        logicalType: string
        quality: [{rule: duplicateCount, mustBeLessThan: 10, unit: rows}]
      - {name: created_at, logicalType: date}
      - {name: price, logicalType: number, logicalTypeOptions: {minimum: 0, exclusiveMinimum: true}}
      - {name: qty, logicalType: integer, logicalTypeOptions: {maximum: 10, exclusiveMaximum: true}}
      - {name: score, logicalType: number, logicalTypeOptions: {minimum: 1, maximum: 5}}
"""

V31 = """
apiVersion: v3.1.0
kind: DataContract
id: dc:q31:1
version: 1.0.0
status: active
schema:
  - name: t
    properties:
      - name: discount_type
        logicalType: string
        quality: [{metric: invalidValues, arguments: {validValues: [NONE, COUPON]}, mustBe: 0, severity: warning}]
      - name: iban
        logicalType: string
        quality: [{metric: invalidValues, arguments: {pattern: '^[A-Z]{2}[0-9]{2}'}, mustBeLessThan: 1}]
      - name: email
        logicalType: string
        quality: [{metric: missingValues, arguments: {missingValues: [null, '', 'N/A']}, mustBe: 0}]
      - name: customer_id
        logicalType: string
        quality: [{metric: nullValues, mustBeLessOrEqualTo: 0, unit: percent, severity: warning}]
      - name: status
        logicalType: string
        quality: [{metric: nullValues, mustBeLessThan: 5, unit: percent}]
      - {name: day, logicalType: date}
      - {name: day_time, logicalType: date, logicalTypeOptions: {format: "yyyy-MM-dd HH:mm:ss"}}
      - {name: at, logicalType: timestamp}
"""

BASE30: dict[str, Any] = {"customer_id": "C-1"}
BASE31: dict[str, Any] = {"email": "a@b.io"}


def _compile(text: str) -> CompiledContract:
    raw = yaml.safe_load(text)
    return compile_contract(OpenDataContractStandard.model_validate(raw), raw=raw)


@pytest.fixture(scope="module")
def v30() -> CompiledContract:
    return _compile(V30)


@pytest.fixture(scope="module")
def v31() -> CompiledContract:
    return _compile(V31)


@pytest.mark.parametrize(("operator", "bound", "passing", "failing"), [
    (None, None, [0], [1, 0.5]),
    ("mustBe", 0, [0], [1, -1]),
    ("mustNotBe", 3, [0, 4], [3]),
    ("mustBeGreaterThan", 2, [3], [2, 0]),
    ("mustBeGreaterOrEqualTo", 2, [2, 3], [1]),
    ("mustBeLessThan", 10, [9, 0], [10, 11]),
    ("mustBeLessOrEqualTo", 10, [10], [11]),
    ("mustBeBetween", [100, 120], [100, 110, 120], [99, 121]),
    ("mustNotBeBetween", [100, 120], [99, 121], [100, 120]),
])
def test_threshold_operators(operator: str | None, bound: Any, passing: list[float], failing: list[float]) -> None:
    """Every ODCS operator compares a measured value as its math symbol says (bounds inclusive)."""
    assert [threshold_ok(operator, bound, v) for v in passing] == [True] * len(passing)
    assert [threshold_ok(operator, bound, v) for v in failing] == [False] * len(failing)


@pytest.mark.parametrize(("metric", "operator", "bound", "unit", "expected"), [
    ("invalidValues", None, None, "rows", True),
    ("invalidValues", "mustBe", 0, "rows", True),
    ("invalidValues", "mustBeLessThan", 1, "rows", True),
    ("invalidValues", "mustBeLessThan", 5, "rows", False),
    ("invalidValues", "mustBeLessOrEqualTo", 0, "percent", True),
    ("invalidValues", "mustBeLessThan", 1, "percent", False),
    ("nullValues", "mustBeBetween", [0, 0], "rows", True),
    ("nullValues", "mustNotBeBetween", [1, 1000000], "rows", True),
    ("nullValues", "mustNotBeBetween", [0, 0], "rows", False),
    ("nullValues", "mustBeGreaterThan", 0, "rows", False),
    ("duplicateValues", "mustBe", 0, "rows", False),
    ("rowCount", "mustBeGreaterThan", 0, "rows", False),
])
def test_per_record_only_when_no_bad_record_is_tolerated(metric: str, operator: str | None, bound: Any,
                                                         unit: str, expected: bool) -> None:
    """A rule is checked per record exactly when 0 bad records pass and 1 (or any share) fails."""
    assert per_record(QualityRule(metric, operator, bound, unit, None)) is expected


@pytest.mark.parametrize(("patch", "expected"), [
    ({}, []),
    ({"discount_type": "FLASH_SALE"}, [(WARN, "UNKNOWN_ENUM:discount_type:FLASH_SALE")]),
    ({"discount_type": "COUPON"}, []),
    ({"unit": "stone"}, [(FAIL, "UNKNOWN_ENUM:unit:stone")]),
    ({"customer_id": None}, [(FAIL, "MISSING_FIELD:customer_id")]),
    ({"email": None}, []),
    ({"created_at": "2024-01-15"}, []),
    ({"created_at": "2024-01-15T09:58:02.100Z"}, []),
    ({"created_at": "yesterday"}, [(FAIL, "TYPE_MISMATCH:created_at")]),
    ({"price": 0}, [(FAIL, "OUT_OF_RANGE:price")]),
    ({"price": 0.01}, []),
    ({"qty": 10}, [(FAIL, "OUT_OF_RANGE:qty")]),
    ({"qty": 9}, []),
    ({"score": 1}, []),
    ({"score": 5}, []),
    ({"score": 5.5}, [(FAIL, "OUT_OF_RANGE:score")]),
])
def test_v30_library_rules(v30: CompiledContract, patch: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    """ODCS v3.0 `rule:` rules, exclusive booleans and a `date` that holds a timestamp, per record."""
    payload = {**BASE30, **patch}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert [(v.severity, v.reason_code) for v in check_payload(v30, payload)] == expected


@pytest.mark.parametrize(("patch", "expected"), [
    ({}, []),
    ({"discount_type": "FLASH_SALE"}, [(WARN, "UNKNOWN_ENUM:discount_type:FLASH_SALE")]),
    ({"iban": "DE44"}, []),
    ({"iban": "de44"}, [(FAIL, "PATTERN_MISMATCH:iban")]),
    ({"email": None}, [(FAIL, "MISSING_FIELD:email")]),
    ({"email": "N/A"}, [(FAIL, "MISSING_FIELD:email")]),
    ({"email": ""}, [(FAIL, "MISSING_FIELD:email")]),
    ({"customer_id": None, "email": "x"}, [(WARN, "MISSING_FIELD:customer_id")]),
    ({"status": None}, []),
    ({"day": "2024-01-15"}, []),
    ({"day": "2024-01-15T09:58:02Z"}, [(FAIL, "TYPE_MISMATCH:day")]),
    ({"day_time": "2024-01-15 09:58:02"}, []),
    ({"at": "2024-01-15T09:58:02Z"}, []),
])
def test_v31_metric_rules(v31: CompiledContract, patch: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    """ODCS v3.1 `metric:` rules with arguments and units; `date` and `timestamp` kept apart, per record."""
    payload = {**BASE31, "customer_id": "C-1", **patch}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert [(v.severity, v.reason_code) for v in check_payload(v31, payload)] == expected


def test_aggregate_rules_are_measured_per_window_not_noticed(v30: CompiledContract, v31: CompiledContract) -> None:
    """Rules that need many records (rowCount, duplicates, tolerant ratios) become window rules, not notices."""
    assert v30.notices == ()
    assert v31.notices == ()
    assert [(a.key, a.metric, a.operator, a.bound, a.unit) for a in v30.aggregates] == [
        ("schema[0].quality[0]", "rowCount", "mustBeBetween", [100, 120], "rows"),
        ("schema[0].properties[3].quality[0]", "duplicateValues", "mustBeLessThan", 10, "rows"),
    ]
    assert [(a.key, a.metric, a.field, a.operator, a.bound, a.unit) for a in v31.aggregates] == [
        ("schema[0].properties[4].quality[0]", "nullValues", "status", "mustBeLessThan", 5, "percent")]


@pytest.mark.parametrize(("entry", "says"), [
    ({"type": "sql", "query": "SELECT 1", "mustBe": 1}, "`type: sql` quality rule is not evaluated"),
    ({"type": "custom", "engine": "soda", "implementation": "x"}, "`type: custom`"),
    ({"metric": "averageValue", "mustBe": 1}, "'averageValue' is not supported; known:"),
    ({"metric": "nullValues", "mustBe": 0, "mustBeLessThan": 1}, "has 2 operators"),
    ({"metric": "nullValues", "mustBe": "none"}, "`mustBe` needs a number"),
    ({"metric": "nullValues", "mustBe": 0, "unit": "bytes"}, "unit 'bytes'"),
    ({"metric": "invalidValues", "mustBe": 0}, "needs `arguments.validValues`"),
])
def test_unsupported_rules_become_notices(entry: dict[str, Any], says: str) -> None:
    """A rule we cannot enforce is a notice saying why, never a silent skip."""
    notice = parse(entry, "schema[0].properties[0].quality[0]")
    assert isinstance(notice, Notice)
    assert says in notice.message


def test_text_rules_are_descriptions() -> None:
    """A `type: text` rule has nothing to check and is not a notice."""
    assert parse({"type": "text", "description": "verified"}, "k") is None


def test_options_not_checked_are_reported() -> None:
    """Unknown logicalTypeOptions, non-ISO formats and date bounds are reported at load; `unique` is a window rule."""
    contract = _compile(V31.replace("- {name: at, logicalType: timestamp}", (
        "- {name: at, logicalType: timestamp, logicalTypeOptions: {format: 'dd/MM/yyyy', "
        "minimum: '2024-01-01'}}\n      - {name: n, logicalType: integer, unique: true, "
        "logicalTypeOptions: {multipleOf: 5}}")))
    messages = {n.key: n.message for n in contract.notices}
    assert "format 'dd/MM/yyyy' is not checked" in messages["schema[0].properties[7].logicalTypeOptions.format"]
    assert "not checked" in messages["schema[0].properties[7].logicalTypeOptions.minimum"]
    assert "schema[0].properties[8].unique" not in messages
    assert [(a.key, a.metric, a.field, a.operator, a.bound) for a in contract.aggregates][-1] == (
        "schema[0].properties[8].unique", "duplicateValues", "n", "mustBe", 0)
    assert "multipleOf" in messages["schema[0].properties[8].logicalTypeOptions.multipleOf"]


def test_generated_screen_agrees_on_the_new_clauses(v30: CompiledContract, v31: CompiledContract) -> None:
    """The per-contract screen gives the same violations as the plain rule walk on both generations."""
    rng = random.Random(21)
    for contract in (v30, v31):
        _assert_same(contract, _payloads(rng, contract, 3000))


def _as_v302(text: str) -> str:
    """The example (ODCS v3.1.0) declared as v3.0.2, which the loader checks against v3.0.2's JSON Schema:
    `rule:` quality entries are v3.0 grammar, and v3.0 has no `timestamp` (its `date` takes date-times)."""
    assert "apiVersion: v3.1.0\n" in text
    assert "logicalType: timestamp\n" in text
    return text.replace("apiVersion: v3.1.0\n", "apiVersion: v3.0.2\n", 1).replace(
        "logicalType: timestamp\n", "logicalType: date\n")


def test_loader_reports_notices_with_file_and_line(tmp_path: Path) -> None:
    """`load_control_plane` turns each notice into `file:line: message (at key)`, and lists window rules apart."""
    root = tmp_path / "cp"
    shutil.copytree(EXAMPLE, root)
    path = root / "contracts" / "orders.created.odcs.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "        quality:\n          - metric: invalidValues"
    assert anchor in text
    text = text.replace(anchor, "        quality:\n          - {metric: duplicateValues, mustBeLessThan: 3}\n"
                                "          - {type: sql, query: SELECT 1, mustBe: 1}\n"
                                "          - metric: invalidValues", 1)
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    dup_line = lines.index("          - {metric: duplicateValues, mustBeLessThan: 3}") + 1
    sql_line = dup_line + 1
    cp = load_control_plane(root)
    assert not [n for n in cp.notices if "duplicateValues" in n]
    (notice,) = [n for n in cp.notices if "type: sql" in n]
    assert notice.startswith(f"{path}:{sql_line}: `type: sql` quality rule is not evaluated")
    (rule,) = [r for r in cp.window_rules if "duplicateValues" in r]
    assert rule.startswith(f"{path}:{dup_line}: ")
    assert "mustBeLessThan: 3" in rule
