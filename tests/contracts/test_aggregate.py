"""Aggregate ODCS quality rules over one window (contracts/aggregate.py): each metric, operator and unit, as
compiled from a contract and measured by `evaluate_window`."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts import aggregate
from signal_factory.contracts.aggregate import (
    AggregateRule,
    QualityTally,
    add,
    evaluate_window,
    initialize,
    result,
)
from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.rules import CompiledContract


def _contract(properties: str, schema_quality: str = "") -> CompiledContract:
    text = ("apiVersion: v3.1.0\nkind: DataContract\nid: dc:agg:1\nversion: 1.0.0\nstatus: active\nschema:\n"
            "  - name: t\n" + schema_quality + "    properties:\n" + properties)
    raw = yaml.safe_load(text)
    return compile_contract(OpenDataContractStandard.model_validate(raw), raw=raw)


def _one(quality: str, logical: str = "string") -> AggregateRule:
    contract = _contract(f"      - name: f\n        logicalType: {logical}\n        quality: [{quality}]\n")
    (rule,) = contract.aggregates
    return rule


def _measure(quality: str, values: list[Any]) -> tuple[float, bool]:
    rule = _one(quality)
    (verdict,) = evaluate_window([rule], [{"f": v} if v is not ABSENT else {} for v in values])
    return verdict.measured, verdict.ok


ABSENT = object()
TEN = ["a", "b", None, ABSENT, "", "N/A", "x", "a", "a", "b"]  # 2 null/absent, 1 empty, 1 N/A; a x3, b x2


@pytest.mark.parametrize(("quality", "measured", "ok"), [
    # nullValues: null and absent count, nothing else
    ("{metric: nullValues, mustBeLessThan: 2}", 2.0, False),
    ("{metric: nullValues, mustBeLessOrEqualTo: 2}", 2.0, True),
    ("{metric: nullValues, mustBeLessThan: 25, unit: percent}", 20.0, True),
    ("{metric: nullValues, mustBeLessThan: 20, unit: percent}", 20.0, False),
    # missingValues: null/absent plus the listed values
    ("{metric: missingValues, arguments: {missingValues: [null, '', 'N/A']}, mustBeLessThan: 4}", 4.0, False),
    ("{metric: missingValues, arguments: {missingValues: [null, '', 'N/A']}, mustBeBetween: [3, 4]}", 4.0, True),
    ("{metric: missingValues, arguments: {missingValues: [null, '']}, mustBeLessThan: 30, unit: percent}",
     30.0, False),
    # invalidValues: present, not missing, not valid (null/absent are not invalid)
    ("{metric: invalidValues, arguments: {validValues: [a, b]}, mustBeLessThan: 3}", 3.0, False),
    ("{metric: invalidValues, arguments: {validValues: [a, b], missingValues: ['', 'N/A']}, mustBeLessThan: 3}",
     3.0, False),  # `missingValues` is no argument of invalidValues: datacontract-cli counts '' and N/A too
    ("{metric: invalidValues, arguments: {pattern: '^[ab]$'}, mustNotBeBetween: [0, 2]}", 3.0, True),
    ("{metric: invalidValues, arguments: {pattern: '^[ab]$'}, mustBeGreaterThan: 10, unit: percent}", 30.0, True),
    # duplicateValues: distinct values seen more than once (a and b); nulls never duplicate each other
    ("{metric: duplicateValues, mustBe: 2}", 2.0, True),
    ("{metric: duplicateValues, mustNotBe: 2}", 2.0, False),
    ("{metric: duplicateValues, mustBeLessThan: 2}", 2.0, False),
    ("{metric: duplicateValues, mustBeGreaterOrEqualTo: 3}", 2.0, False),
    ("{metric: duplicateValues, mustBeLessThan: 25, unit: percent}", 20.0, True),
    # v3.0 library names are the same metrics
    ("{rule: nullCheck, mustBeLessThan: 2}", 2.0, False),
    ("{rule: duplicateCount, mustBeLessThan: 3}", 2.0, True),
    ("{rule: validValues, validValues: [a, b], mustBeLessThan: 4}", 3.0, True),
])
def test_each_metric_operator_and_unit(quality: str, measured: float, ok: bool) -> None:
    """Ten known values: each metric counts what datacontract-cli counts, and each operator/unit judges it."""
    assert _measure(quality, TEN) == (measured, ok)


def test_row_count_and_its_partial_window() -> None:
    """rowCount counts the window's records; a window the input ended inside is not judged on it."""
    contract = _contract("      - {name: f, logicalType: string}\n",
                         "    quality:\n      - {metric: rowCount, mustBeGreaterThan: 3}\n")
    (rule,) = contract.aggregates
    assert (rule.field, rule.signature) == (None, "QUALITY_ROW_COUNT:$")
    (few,) = evaluate_window([rule], [{}, {}, {}])
    assert (few.measured, few.ok) == (3.0, False)
    (enough,) = evaluate_window([rule], [{}] * 4)
    assert enough.ok
    tally = QualityTally("urn", 0, rows=1)
    (partial,) = result(add(initialize(), tally), [rule], complete=False)
    assert (partial.judged, partial.ok, partial.describe()["breached"]) == (False, True, False)


def test_unique_and_schema_level_keys() -> None:
    """`unique: true` is duplicateValues mustBe 0 on its field; a schema-level rule's key is its properties
    together; a nested property is read at its full path."""
    contract = _contract(
        "      - {name: id, logicalType: string, unique: true}\n      - {name: day, logicalType: string}\n"
        "      - name: ship\n        logicalType: object\n        properties:\n"
        "          - {name: zip, logicalType: string, quality: [{metric: nullValues, mustBe: 1}]}\n",
        "    quality:\n      - {metric: duplicateValues, arguments: {properties: [id, day]}, mustBe: 0}\n")
    unique, nested, key = sorted(contract.aggregates, key=lambda a: a.key)
    assert (unique.key, unique.metric, unique.paths) == ("schema[0].properties[0].unique", "duplicateValues",
                                                         (("id",),))
    assert (key.signature, key.paths) == ("QUALITY_DUPLICATE_VALUES:id+day", (("id",), ("day",)))
    assert (nested.field, nested.paths) == ("ship.zip", (("ship", "zip"),))
    rows = [{"id": "1", "day": "mon", "ship": {"zip": "1"}}, {"id": "1", "day": "tue", "ship": {}},
            {"id": "2", "day": "mon"}]
    verdicts = {v.rule.key: v for v in evaluate_window(contract.aggregates, rows)}
    assert (verdicts[unique.key].count, verdicts[unique.key].ok) == (1, False)
    assert (verdicts[key.key].count, verdicts[key.key].ok) == (0, True)
    assert (verdicts[nested.key].count, verdicts[nested.key].ok) == (2, False)


def test_values_are_told_apart_by_type_and_never_kept() -> None:
    """1, "1", True and 1.5 are four values; the window keeps 64-bit digests, not the values."""
    rule = _one("{metric: duplicateValues, mustBe: 0}")
    (v,) = evaluate_window([rule], [{"f": 1}, {"f": "1"}, {"f": True}, {"f": 1.5}, {"f": {"a": 1}}])
    assert (v.count, v.ok) == (0, True)
    tally = QualityTally("urn", 0)
    aggregate.observe([rule], {"f": "alice@example.com"}, tally)
    (digest,) = tally.digests[rule.key]
    assert isinstance(digest, int)
    assert 0 <= digest < 2**64


def test_duplicate_tracking_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_DIGESTS distinct values a window stops tracking new ones and says the count is a lower bound."""
    monkeypatch.setattr(aggregate, "MAX_DIGESTS", 3)
    rule = _one("{metric: duplicateValues, mustBe: 0}")
    (v,) = evaluate_window([rule], [{"f": x} for x in ("a", "b", "c", "d", "d", "a")])
    assert (v.count, v.capped, v.ok) == (1, True, False)
    assert "lower bound" in v.describe()["capped"]


def test_rules_that_cannot_be_measured_are_notices() -> None:
    """A rowCount without an operator, a schema-level duplicate without properties, a schema-level null rule
    and a ratio on a property inside an array stay notices, with where they are."""
    contract = _contract(
        "      - name: lines\n        logicalType: array\n        items:\n          logicalType: object\n"
        "          properties:\n            - {name: sku, logicalType: string, "
        "quality: [{metric: nullValues, mustBeLessThan: 3}]}\n",
        "    quality:\n      - {metric: rowCount}\n      - {metric: duplicateValues, mustBe: 0}\n"
        "      - {metric: nullValues, mustBe: 0}\n")
    assert contract.aggregates == ()
    assert [n.key for n in contract.notices] == [
        "schema[0].quality[0]", "schema[0].quality[1]", "schema[0].quality[2]",
        "schema[0].properties[0].items.properties[0].quality[0]"]


@pytest.mark.parametrize(("quality", "values", "settled"), [
    ("{metric: nullValues, mustBeLessThan: 2}", [None, None], True),  # 2 nulls: more records cannot undo it
    ("{metric: nullValues, mustBeLessOrEqualTo: 1}", [None, None], True),
    ("{metric: nullValues, mustBe: 1}", [None, None], True),  # above the exact count
    ("{metric: nullValues, mustBe: 3}", [None, None], False),  # below it: more nulls may still make it
    ("{metric: nullValues, mustBeBetween: [0, 1]}", [None, None], True),
    ("{metric: nullValues, mustBeBetween: [3, 4]}", [None, None], False),
    ("{metric: nullValues, mustBeGreaterThan: 2}", [None, None], False),  # a floor waits for close
    ("{metric: nullValues, mustNotBe: 2}", [None, None], False),
    ("{metric: nullValues, mustBeLessThan: 50, unit: percent}", [None, None], False),  # a share can fall again
    ("{metric: nullValues, mustBeLessThan: 3}", [None, None], False),  # not breached at all
])
def test_a_breach_is_settled_only_when_more_records_cannot_undo_it(quality: str, values: list[Any],
                                                                   settled: bool) -> None:
    """Early firing's condition: a count in rows already above an upper bound, and nothing else."""
    (verdict,) = evaluate_window([_one(quality)], [{"f": v} for v in values])
    assert aggregate.settled_breach(verdict) is settled
