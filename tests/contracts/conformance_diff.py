"""Run one conformance case through datacontract-cli's `test` (local JSON file, DuckDB) and our enforcer,
and line up their verdicts record by record, rule by rule.

How the two are compared. datacontract-cli reports per check, not per record, in two ways:
* its DuckDB checks (required, min/max length, minimum/maximum, pattern, enum, quality invalidValues /
  nullValues / missingValues) each count failing rows, and with `include_failed_samples` list them; the
  sample limit (5) is raised to every row, and each row carries a `_row` primary key, so every check yields
  the exact set of failing rows. Each check maps to one of our reason codes (`MISSING_FIELD:f`,
  `OUT_OF_RANGE:f`, ...): for each code, the union of its checks' rows must equal the rows where our
  enforcer reports that code. That is per record and per rule.
* its JSON Schema validation of each JSON record (types, date/timestamp shapes, formats, required,
  patterns, lengths, bounds, enums) fails a record with its first error, named by the `_row` key: those
  rows must equal the rows where we report any violation that JSON Schema expresses.
A row on which they differ must be explained by one of the named `DIFFERENCES` (a documented ODCS
ambiguity or a datacontract-cli behaviour); anything else is reported as unexplained.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.rules import CompiledContract, Violation, check_payload
from tests.contracts.conformance_cases import Case, records

# datacontract-cli check type -> the kind of our reason code it measures.
KIND_OF_CHECK = {
    "field_required": "MISSING_FIELD", "field_null_values": "MISSING_FIELD",
    "field_missing_values": "MISSING_FIELD", "field_primary_key_required": "MISSING_FIELD",
    "field_min_length": "LENGTH_OUT_OF_RANGE", "field_max_length": "LENGTH_OUT_OF_RANGE",
    "field_minimum": "OUT_OF_RANGE", "field_maximum": "OUT_OF_RANGE", "field_not_equal": "OUT_OF_RANGE",
    "field_regex": "PATTERN_MISMATCH", "field_enum": "UNKNOWN_ENUM",
    "field_invalid_values": "UNKNOWN_ENUM",  # or PATTERN_MISMATCH for `arguments.pattern`: see _kind
}
# Check types that are not per-record rules: presence of a column, uniqueness (a statement about a batch,
# evaluated per window elsewhere), the JSON Schema validation (compared on its own, below).
NOT_PER_RECORD = {"field_is_present", "field_unique", "field_primary_key_unique", "primary_key_unique",
                  "schema", "records_found", "lint"}
_ROW_KEY = re.compile(r"^#(\d+): ")
# RFC 3339 date-time, as JSON Schema's `date-time` format (and fastjsonschema) reads it.
_RFC3339 = re.compile(r"^\d{4}-[01]\d-[0-3]\d[tT][0-2]\d:[0-5]\d:[0-5]\d(\.\d+)?([zZ]|[+-][0-2]\d:[0-5]\d)$")


@dataclass
class Side:
    """What one tool says: rows per reason code (DuckDB checks) and rows failing JSON Schema."""

    by_code: dict[str, set[int]] = field(default_factory=dict)
    schema_rows: set[int] = field(default_factory=set)
    severity: dict[str, str] = field(default_factory=dict)  # reason code -> FAIL or WARN


@dataclass
class Report:
    """The comparison of one case: sizes, the differences each named reason explains, the unexplained."""

    case: str
    records: int
    rules: int  # per-record rules compared: (datacontract check -> our code) pairs, plus JSON Schema
    checks: int
    failing: tuple[int, int] = (0, 0)  # records failing anything: (ours, datacontract-cli's)
    explained: dict[str, int] = field(default_factory=dict)
    unexplained: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a difference predicate may look at for one row."""

    contract: dict[str, Any]
    record: dict[str, Any]
    ours: list[Violation]
    code: str  # our reason code (`KIND:field`), or "JSON_SCHEMA"
    only_in: str  # "ours" or "datacontract"


@dataclass(frozen=True)
class Difference:
    """A named, expected difference between datacontract-cli and us, and why it is right to expect it."""

    name: str
    reason: str
    applies: Callable[[Context], bool]


def _field(code: str) -> str:
    return code.split(":")[1] if ":" in code else ""


def _props(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every property of the first schema object by its dotted name (array items as `a[].b`)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(props: list[dict[str, Any]], prefix: str) -> None:
        for p in props:
            name = f"{prefix}{p['name']}"
            out[name] = p
            walk(p.get("properties") or [], f"{name}.")
            walk((p.get("items") or {}).get("properties") or [], f"{name}[].")

    walk(contract["schema"][0].get("properties") or [], "")
    return out


def _type_mismatch_first(c: Context) -> bool:
    return c.code != "JSON_SCHEMA" and any(v.reason_code == f"TYPE_MISMATCH:{_field(c.code)}" for v in c.ours)


def _v30_rule(c: Context) -> bool:
    prop = _props(c.contract).get(_field(c.code), {})
    v30 = any("rule" in q and "metric" not in q for q in prop.get("quality") or [])
    if c.code == "JSON_SCHEMA":
        return c.only_in == "ours" and all(
            any("rule" in q and "metric" not in q for q in _props(c.contract).get(_field(v.reason_code), {})
                .get("quality") or []) for v in _schema_violations(c.contract, c.ours))
    return c.only_in == "ours" and v30


def _timestamp_form(c: Context) -> bool:
    if c.code != "JSON_SCHEMA" or c.only_in != "datacontract":
        return False
    for name, prop in _props(c.contract).items():
        value = c.record.get(name)
        if prop.get("logicalType") == "timestamp" and value is not None and not (
                isinstance(value, str) and _RFC3339.match(value)):
            return True
    return False


def _v30_date_time(c: Context) -> bool:
    if c.code != "JSON_SCHEMA" or c.only_in != "datacontract" or not str(c.contract["apiVersion"]).startswith(
            "v3.0"):
        return False
    return any(prop.get("logicalType") == "date" and isinstance(c.record.get(name), str)
               and len(c.record[name]) > 10 for name, prop in _props(c.contract).items())


DIFFERENCES = [
    Difference(
        "TYPE_MISMATCH_FIRST",
        "A value of the wrong JSON type is TYPE_MISMATCH for us and no other rule of that field runs on it "
        "(the stream cannot compare 'abc' with a minimum); datacontract-cli's DuckDB reads the file cast to "
        "the contract's types (2.5 -> 3 for an integer, 5 -> '5' for a string, 'abc' -> NULL) and runs the "
        "value rules on what the cast gave. The record fails in both (its type fails datacontract's JSON "
        "Schema check too); the rule that names it differs.", _type_mismatch_first),
    Difference(
        "V30_RULE_NOT_RUN_BY_DATACONTRACT",
        "ODCS v3.0.x library quality rules name the check with `rule:` (`validValues` with a top-level "
        "`validValues` list, `nullCheck`); datacontract-cli 1.2.8 reads only the v3.1 `metric:` form and "
        "passes these (its lint warns that `validValues` is an unknown field). We check them per record.",
        _v30_rule),
    Difference(
        "TIMESTAMP_LEXICAL_FORM",
        "ODCS does not fix how a `timestamp` is written in JSON. datacontract-cli requires RFC 3339 with an "
        "offset (JSON Schema `date-time`); we accept any ISO-8601 date-time, with or without an offset, a "
        "date alone, and epoch milliseconds as an integer (what producers put on Kafka).", _timestamp_form),
    Difference(
        "V30_DATE_HOLDS_DATE_TIME",
        "ODCS v3.0.x has no `timestamp` type: its `date` covers date-times (its own format examples include "
        "`yyyy-MM-dd HH:mm:ss`), so we accept an ISO date-time in a v3.0 `date`; datacontract-cli requires a "
        "calendar date (JSON Schema `date`) in every version.", _v30_date_time),
]


def prepared(case: Case, data_file: Path) -> dict[str, Any]:
    """The case's contract with three changes for the test: a `_row` primary key first among the properties
    (datacontract-cli names failing rows by it), one local JSON server reading `data_file`, and no
    `physicalName` on the schema object (datacontract-cli names its DuckDB view by it, and cannot read
    a file into a dotted name such as `raw.orders.events`, the Kafka topic of our orders contract)."""
    contract = copy.deepcopy(yaml.safe_load(case.contract.read_text()))
    obj = contract["schema"][0]
    obj.pop("physicalName", None)
    obj["properties"] = [{"name": "_row", "logicalType": "integer", "required": True, "primaryKey": True},
                         *obj.get("properties", [])]
    contract["servers"] = [{"server": "local", "type": "local", "format": "json", "path": str(data_file)}]
    return contract


def _kind(check_type: str, name: str, compiled: CompiledContract) -> str:
    if check_type == "field_invalid_values":
        rule = next((r for top in compiled.rules for r in top.walk() if r.name == name), None)
        if rule is not None and rule.valid_pattern is not None:
            return "PATTERN_MISMATCH"
    return KIND_OF_CHECK[check_type]


def run_datacontract(contract: dict[str, Any], compiled: CompiledContract) -> tuple[Side, int, list[str]]:
    """(datacontract-cli's verdicts, number of per-record checks it ran, checks it did not run and why)."""
    from datacontract.data_contract import DataContract

    run = DataContract(data_contract_str=yaml.safe_dump(contract, sort_keys=False),
                       include_failed_samples=True).test()
    side, ran, not_run = Side(), 0, []
    for check in run.checks:
        result = getattr(check.result, "value", check.result)
        if check.type == "schema" and result == "failed":
            m = _ROW_KEY.match(check.reason or "")
            assert m is not None, f"JSON Schema failure without its row key: {check.reason}"
            side.schema_rows.add(int(m.group(1)))
            continue
        if check.type in NOT_PER_RECORD:
            continue
        assert check.type in KIND_OF_CHECK, f"unmapped datacontract-cli check {check.type}: {check.name}"
        if result not in ("passed", "failed", "warning"):
            not_run.append(f"{check.name}: {result} ({check.reason})")
            continue
        ran += 1
        code = f"{_kind(check.type, check.field, compiled)}:{check.field}"
        rows = side.by_code.setdefault(code, set())
        counts = re.findall(r"was (\d+)", check.reason or "")
        if result != "passed" and not counts:
            not_run.append(f"{check.name}: {result} without a count ({check.reason})")
        elif result != "passed":  # `warning`: the rule's `severity: warning`, its rows fail with that severity
            samples = check.failedSamples or []
            count = int(counts[0])
            assert len(samples) == count, f"{check.name}: {count} failing rows, {len(samples)} samples"
            rows.update(int(s["_row"]) for s in samples)
            side.severity[code] = "WARN" if result == "warning" else "FAIL"
    return side, ran, not_run


def _schema_violations(contract: dict[str, Any], ours: list[Violation]) -> list[Violation]:
    """Our violations that datacontract-cli's JSON Schema of the contract expresses too."""
    props = _props(contract)
    out = []
    for v in ours:
        kind, name = v.reason_code.split(":")[0], _field(v.reason_code)
        if kind == "MISSING_FIELD":
            if v.rule.get("constraint") == "required" and props.get(name, {}).get("required") is True:
                out.append(v)
        elif kind == "PATTERN_MISMATCH":
            if v.rule.get("constraint") == "pattern":
                out.append(v)
        elif kind == "UNKNOWN_ENUM":
            quality = props.get(name, {}).get("quality") or []
            if not any("rule" in q and "metric" not in q for q in quality):
                out.append(v)
        elif kind in ("TYPE_MISMATCH", "LENGTH_OUT_OF_RANGE", "OUT_OF_RANGE", "INVALID_FORMAT"):
            out.append(v)
    return out


def run_ours(contract: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[CompiledContract, list[list[Violation]]]:
    compiled = compile_contract(OpenDataContractStandard.model_validate(contract), raw=contract)
    return compiled, [check_payload(compiled, row) for row in rows]


def compare(case: Case, tmp: Path, n: int = 200, seed: int = 15) -> Report:
    """Both tools on `n` seeded records of `case`; every row where they differ, explained or not."""
    rows = records(case, n, seed)
    data = tmp / "records.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    contract = prepared(case, data)
    compiled, violations = run_ours(contract, rows)
    theirs, ran, not_run = run_datacontract(contract, compiled)
    ours = Side()
    for i, vs in enumerate(violations):
        for v in vs:
            kind, name = v.reason_code.split(":")[0], _field(v.reason_code)
            ours.by_code.setdefault(f"{kind}:{name}", set()).add(i)
            ours.severity.setdefault(f"{kind}:{name}", v.severity)
        if _schema_violations(contract, vs):
            ours.schema_rows.add(i)
    report = Report(case.name, n, 0, ran + 1,
                    unexplained=[f"not run by datacontract-cli: {x}" for x in not_run])
    for code, severity in theirs.severity.items():
        if ours.severity.get(code, severity) != severity:
            report.unexplained.append(f"{code}: datacontract-cli says {severity}, we say {ours.severity[code]}")
    # Every code either side reports for a rule datacontract-cli's DuckDB checks measure: a code of ours
    # that no check of theirs measures is compared with "no failing row" (a rule they do not run).
    measured = set(KIND_OF_CHECK.values()) | {"PATTERN_MISMATCH"}
    codes = sorted(set(theirs.by_code) | {c for c in ours.by_code if c.split(":")[0] in measured})
    compared = [(code, theirs.by_code.get(code, set()), ours.by_code.get(code, set())) for code in codes]
    compared.append(("JSON_SCHEMA", theirs.schema_rows, ours.schema_rows))
    report.rules = len(compared)
    dc_failing = theirs.schema_rows.union(*theirs.by_code.values())
    report.failing = (sum(1 for vs in violations if vs), len(dc_failing))
    for code, dc_rows, our_rows in compared:
        for row in sorted(dc_rows ^ our_rows):
            ctx = Context(contract, rows[row], violations[row], code,
                          "ours" if row in our_rows else "datacontract")
            named = next((d.name for d in DIFFERENCES if d.applies(ctx)), None)
            if named is None:
                report.unexplained.append(f"row {row} {code}: only {ctx.only_in} fails it; record {rows[row]}; "
                                          f"ours {[v.reason_code for v in violations[row]]}")
            else:
                report.explained[named] = report.explained.get(named, 0) + 1
    return report
