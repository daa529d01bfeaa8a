"""Compiled contract rules and their evaluation against one payload. Pure, hot path.

A `FieldRule` is the spec for one field; `check_payload` returns `Violation`s (values, never raised).
Evaluation is hand-written straight-line Python rather than a generic rule interpreter: it is
called once per record, and the compiled form lets the common case (field present, right type, no
options) cost a dict lookup and an isinstance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from signal_factory.codegen import CodeWriter
from signal_factory.contracts.aggregate import ABSENT, AggregateRule, value_at
from signal_factory.contracts.quality import Notice
from signal_factory.privacy.guard import safe_token

FAIL = "FAIL"
WARN = "WARN"


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "date": (str, date),
    "timestamp": (str, datetime, int),
    "time": (str,),
}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMATS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "uri": re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$"),
    "ulid": re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$"),
    # RFC 3339 (JSON Schema's `date-time`, as datacontract-cli checks it): a date, `T`, a time, an offset
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"),
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken clause: severity, stable reason code, and the rule as the evidence shows it."""

    severity: str
    reason_code: str
    rule: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Everything the contract says about one field, compiled."""

    name: str
    path: tuple[str, ...]
    required: bool = False
    required_severity: str = FAIL
    logical_type: str | None = None
    type_severity: str = FAIL
    date_time_ok: bool = False  # a `date` that may hold a date-time (ODCS v3.0, or a format with a time)
    enum: frozenset[Any] | None = None
    enum_values: tuple[Any, ...] = ()
    enum_severity: str = FAIL
    pattern: re.Pattern[str] | None = None
    fmt: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    options_severity: str = FAIL
    valid_pattern: re.Pattern[str] | None = None  # quality invalidValues with arguments.pattern
    valid_pattern_severity: str = FAIL
    missing_values: frozenset[Any] | None = None  # quality missingValues: values that count as missing
    missing_values_list: tuple[Any, ...] = ()
    missing_severity: str = FAIL
    classification: str | None = None
    items: tuple[FieldRule, ...] = ()
    children: tuple[FieldRule, ...] = ()

    def walk(self) -> list[FieldRule]:
        """This rule and every nested rule (object children, array items), depth first."""
        out = [self]
        for sub in (*self.children, *self.items):
            out.extend(sub.walk())
        return out

    @property
    def is_pii(self) -> bool:
        return self.classification is not None and self.classification.lower() in _PII_CLASSES


_PII_CLASSES = {"pii", "restricted", "confidential", "sensitive", "personal", "spi"}


@dataclass(frozen=True, slots=True)
class CompiledContract:
    """A contract ready to run: id, version and the field rules of its schema object."""

    contract_id: str
    version: str | None
    object_name: str | None
    rules: tuple[FieldRule, ...]
    pii_fields: frozenset[str] = field(default_factory=frozenset)
    notices: tuple[Notice, ...] = ()  # clauses stated but not enforced at all (reported at load)
    aggregates: tuple[AggregateRule, ...] = ()  # rules measured per window (signals/quality_engine.py)


def safe_actual(value: Any, classified: bool) -> str:
    """How a bad value may appear in evidence: a classified value never; any other through the guard
    (`privacy/guard.py`: a PII-looking, long or odd value becomes its stand-in `redacted-TYPE-hash`)."""
    if value is None:
        return "null"
    if classified:
        return "<redacted>"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | float):
        return safe_token(repr(value))  # a card number sent as a JSON number is still a card number
    if isinstance(value, str):
        return safe_token(value)
    return f"<{type(value).__name__}>"


def _type_ok(rule: FieldRule, value: Any) -> bool:
    assert rule.logical_type is not None
    allowed = _TYPES.get(rule.logical_type)
    if allowed is None:
        return True
    if isinstance(value, bool) and rule.logical_type != "boolean":
        return False
    if not isinstance(value, allowed):
        return False
    if rule.logical_type == "date" and isinstance(value, str):
        if _DATE_RE.match(value) is not None:
            try:  # the shape is not enough: 2024-02-30 is no date
                date.fromisoformat(value)
            except ValueError:
                return False
            return True
        if not rule.date_time_ok:
            return False
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
    if rule.logical_type == "timestamp" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
    return True


def _options(rule: FieldRule, value: Any, out: list[Violation]) -> None:
    name = rule.name
    sev = rule.options_severity
    if isinstance(value, str):
        if rule.pattern is not None and rule.pattern.search(value) is None:
            out.append(Violation(sev, f"PATTERN_MISMATCH:{name}", {
                "field": name, "constraint": "pattern", "expected": rule.pattern.pattern,
                "actual": safe_actual(value, rule.is_pii)}))
        if rule.valid_pattern is not None and rule.valid_pattern.search(value) is None:
            out.append(Violation(rule.valid_pattern_severity, f"PATTERN_MISMATCH:{name}", {
                "field": name, "constraint": "invalidValues.pattern", "expected": rule.valid_pattern.pattern,
                "actual": safe_actual(value, rule.is_pii)}))
        if rule.fmt is not None:
            fmt_re = _FORMATS.get(rule.fmt)
            if fmt_re is not None and fmt_re.match(value) is None:
                out.append(Violation(sev, f"INVALID_FORMAT:{name}", {
                    "field": name, "constraint": "format", "expected": rule.fmt,
                    "actual": safe_actual(value, rule.is_pii)}))
        n = len(value)
        if (rule.min_length is not None and n < rule.min_length) or (
                rule.max_length is not None and n > rule.max_length):
            out.append(Violation(sev, f"LENGTH_OUT_OF_RANGE:{name}", {
                "field": name, "constraint": "length", "expected": [rule.min_length, rule.max_length],
                "actual": n}))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low_bad = (rule.minimum is not None and value < rule.minimum) or (
            rule.exclusive_minimum is not None and value <= rule.exclusive_minimum)
        high_bad = (rule.maximum is not None and value > rule.maximum) or (
            rule.exclusive_maximum is not None and value >= rule.exclusive_maximum)
        if low_bad or high_bad:
            out.append(Violation(sev, f"OUT_OF_RANGE:{name}", {
                "field": name, "constraint": "range",
                "expected": [rule.minimum if rule.minimum is not None else rule.exclusive_minimum,
                             rule.maximum if rule.maximum is not None else rule.exclusive_maximum],
                "actual": safe_actual(value, rule.is_pii)}))


def _has_options(rule: FieldRule) -> bool:
    return (rule.pattern is not None or rule.valid_pattern is not None or rule.fmt is not None
            or rule.min_length is not None or rule.max_length is not None or rule.minimum is not None
            or rule.maximum is not None
            or rule.exclusive_minimum is not None or rule.exclusive_maximum is not None)


def _is_missing_value(missing: frozenset[Any], value: Any) -> bool:
    try:
        return value in missing and not (isinstance(value, bool) and not any(
            isinstance(m, bool) for m in missing))
    except TypeError:  # unhashable value (object/array) is never a listed missing value
        return False


def check_value(rule: FieldRule, value: Any, out: list[Violation]) -> None:
    """Append every violation of `rule` by `value` (which may be `ABSENT`) to `out`."""
    name = rule.name
    if value is ABSENT or value is None:
        if rule.required:
            out.append(Violation(rule.required_severity, f"MISSING_FIELD:{name}", {
                "field": name, "constraint": "required", "actual": "null"}))
        return
    if rule.missing_values is not None and _is_missing_value(rule.missing_values, value):
        out.append(Violation(rule.missing_severity, f"MISSING_FIELD:{name}", {
            "field": name, "constraint": "missingValues", "expected": "not one of "
            + repr(list(rule.missing_values_list)), "actual": safe_actual(value, rule.is_pii)}))
        return
    if rule.logical_type is not None and not _type_ok(rule, value):
        out.append(Violation(rule.type_severity, f"TYPE_MISMATCH:{name}", {
            "field": name, "constraint": "type", "expected": rule.logical_type,
            "actual": type(value).__name__}))
        return
    if rule.enum is not None:
        try:
            known = value in rule.enum
        except TypeError:  # unhashable value (object/array) can never be a member
            known = False
        if not known:
            shown = safe_actual(value, rule.is_pii)
            # A safe token (`FLASH_SALE`) is named in the code, so a new value is its own signature;
            # anything the guard replaces is not (the details carry its stand-in). Spark's batch codes
            # make the same choice without the detectors (integrations/spark/expressions.py), so a
            # stream WARN and a batch FAIL of one value share a signature.
            code = f"UNKNOWN_ENUM:{name}:{value}" if shown == value and isinstance(value, str) \
                else f"UNKNOWN_ENUM:{name}"
            out.append(Violation(rule.enum_severity, code, {
                "field": name, "constraint": "enum", "expected": list(rule.enum_values),
                "actual": shown}))
    if _has_options(rule):
        _options(rule, value, out)
    if rule.children and isinstance(value, dict):
        for child in rule.children:
            check_value(child, value_at(value, child.path), out)
    if rule.items and isinstance(value, list):
        for element in value:
            for item_rule in rule.items:
                check_value(item_rule, value_at(element, item_rule.path), out)


def check_payload(contract: CompiledContract, payload: Any) -> list[Violation]:
    """All violations of the contract by one payload (an empty list means compliant)."""
    out: list[Violation] = []
    if not isinstance(payload, dict):
        out.append(Violation(FAIL, "TYPE_MISMATCH:$", {
            "field": "$", "constraint": "type", "expected": "object", "actual": type(payload).__name__}))
        return out
    rules = contract.rules
    # Screen with the contract's generated checker: it names the first top-level rule that may be
    # violated; only those rules go through `check_value`, which builds the violations.
    hit = _screens.get(id(contract))
    screen = hit[1] if hit is not None and hit[0] is contract else _screen_for(contract)
    i = screen(payload, 0)
    while i >= 0:
        rule = rules[i]
        check_value(rule, value_at(payload, rule.path), out)
        i = screen(payload, i + 1)
    return out


# -- generated screens -----------------------------------------------------------------------------
# `check_payload` runs per record, and walking `FieldRule`s generically costs ~1 us a field. Each
# contract is therefore also compiled (once) into straight-line Python, `screen(payload, start)`, which
# returns the index of the first top-level rule at or after `start` that *may* be violated, or -1.
# A screen only ever answers "no violation" by evaluating the same conditions as `check_value` (same
# isinstance tests, the same compiled regexes and frozensets, the same comparisons); for anything it
# does not inline it calls the same helper or answers "may be violated", and `check_value` decides.
# So the violations are identical by construction; tests/contracts/test_rules_screen.py checks it.

_screens: dict[int, tuple[CompiledContract, Any]] = {}
_MAX_SCREENS = 256
_SIMPLE_TYPES = {  # logical type -> condition (on `{v}`) exactly equivalent to `_type_ok`
    "string": "isinstance({v}, str)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool))",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "boolean": "isinstance({v}, bool)",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
}


class _ScreenWriter(CodeWriter):
    def __init__(self) -> None:
        super().__init__({"_type_ok": _type_ok, "_fromiso": datetime.fromisoformat,
                          "_is_missing_value": _is_missing_value})

    def lookup(self, indent: int, target: str, source: str, path: tuple[str, ...],
               source_is_dict: bool = False) -> None:
        """`target = value_at(source, path)`, with None standing for ABSENT (check_value treats both alike)."""
        if not path:
            self.emit(indent, f"{target} = {source}")
            return
        first = f"{source}.get({self.const(path[0])})"
        self.emit(indent, f"{target} = {first}" if source_is_dict
                  else f"{target} = {first} if isinstance({source}, dict) else None")
        for part in path[1:]:
            self.emit(indent, f"{target} = {target}.get({self.const(part)}) if isinstance({target}, dict) "
                              f"else None")

    def rule(self, indent: int, rule: FieldRule, v: str, fail: str) -> None:
        """Code that runs `fail` if `rule` may be violated by `v` (None = missing)."""
        self.emit(indent, f"if {v} is None:")
        self.emit(indent + 1, fail if rule.required else "pass")
        self.emit(indent, "else:")
        ind = indent + 1
        known: type | tuple[type, ...] | None = None
        if rule.missing_values is not None:
            self.emit(ind, f"if _is_missing_value({self.const(rule.missing_values)}, {v}):")
            self.emit(ind + 1, fail)
        if rule.logical_type is not None and rule.logical_type in _TYPES:
            cond = _SIMPLE_TYPES.get(rule.logical_type)
            if cond is not None:
                self.emit(ind, f"if not {cond.format(v=v)}:")
                known = _TYPES[rule.logical_type]
            elif rule.logical_type == "timestamp":
                # For an exact str, `_type_ok` is exactly "fromisoformat accepts it".
                self.emit(ind, f"if type({v}) is str:")
                self.emit(ind + 1, "try:")
                self.emit(ind + 2, f"_fromiso({v})")
                self.emit(ind + 1, "except ValueError:")
                self.emit(ind + 2, fail)
                self.emit(ind, f"elif not _type_ok({self.const(rule)}, {v}):")
            else:
                self.emit(ind, f"if not _type_ok({self.const(rule)}, {v}):")
            self.emit(ind + 1, fail)
        if rule.enum is not None:
            self.emit(ind, "try:")
            self.emit(ind + 1, f"if {v} not in {self.const(rule.enum)}:")
            self.emit(ind + 2, fail)
            self.emit(ind, "except TypeError:")
            self.emit(ind + 1, fail)
        if _has_options(rule):
            self._options(ind, rule, v, fail, known)
        if rule.children:
            self.emit(ind, f"if isinstance({v}, dict):")
            for child in rule.children:
                c = self.var()
                self.lookup(ind + 1, c, v, child.path)
                self.rule(ind + 1, child, c, fail)
        if rule.items:
            el = self.var()
            self.emit(ind, f"if isinstance({v}, list):")
            self.emit(ind + 1, f"for {el} in {v}:")
            for item_rule in rule.items:
                c = self.var()
                self.lookup(ind + 2, c, el, item_rule.path)
                self.rule(ind + 2, item_rule, c, fail)
        self.emit(ind, "pass")

    def _options(self, ind: int, rule: FieldRule, v: str, fail: str,
                 known: type | tuple[type, ...] | None) -> None:
        string_checks: list[str] = []
        for regex in (rule.pattern, rule.valid_pattern):
            if regex is not None:
                string_checks.append(f"{self.const(regex)}.search({v}) is None")
        fmt_re = _FORMATS.get(rule.fmt) if rule.fmt is not None else None
        if fmt_re is not None:
            string_checks.append(f"{self.const(fmt_re)}.match({v}) is None")
        if rule.min_length is not None:
            string_checks.append(f"len({v}) < {self.const(rule.min_length)}")
        if rule.max_length is not None:
            string_checks.append(f"len({v}) > {self.const(rule.max_length)}")
        number_checks: list[str] = []
        for bound, op in ((rule.minimum, "<"), (rule.maximum, ">"),
                          (rule.exclusive_minimum, "<="), (rule.exclusive_maximum, ">=")):
            if bound is not None:
                number_checks.append(f"{v} {op} {self.const(bound)}")
        branches: list[tuple[str, list[str]]] = []
        if string_checks and known in (None, (str,)):
            branches.append((f"isinstance({v}, str)", string_checks))
        if number_checks and known in (None, (int,), (int, float)):
            branches.append((f"isinstance({v}, (int, float)) and not isinstance({v}, bool)", number_checks))
        for cond, checks in branches:
            if known is None:
                self.emit(ind, f"if {cond} and ({' or '.join(checks)}):")
            else:  # the type check above already established `cond`
                self.emit(ind, f"if {' or '.join(checks)}:")
            self.emit(ind + 1, fail)


def _screen_for(contract: CompiledContract) -> Any:
    w = _ScreenWriter()
    w.emit(0, "def screen(p, start):")
    for i, rule in enumerate(contract.rules):
        w.emit(1, f"if start <= {i}:")
        v = w.var()
        w.lookup(2, v, "p", rule.path, source_is_dict=True)
        w.rule(2, rule, v, f"return {i}")
    w.emit(1, "return -1")
    screen = w.build("screen", f"<contract screen {contract.contract_id}>")
    if len(_screens) >= _MAX_SCREENS:
        _screens.clear()
    _screens[id(contract)] = (contract, screen)
    return screen
