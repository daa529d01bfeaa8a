"""`FieldRule`s -> native Spark column expressions with the stream enforcer's reason codes.

Each clause of a rule becomes one ``when(<violated>, <code>)`` column that is the reason code or null,
mirroring `signal_factory.contracts.rules.check_value` clause by clause:

    null (or column absent)         -> MISSING_FIELD:f if required; no other clause runs
    a quality missingValues value   -> MISSING_FIELD:f; no other clause runs
    Spark type / string shape wrong -> TYPE_MISMATCH:f; no other clause runs
    enum                            -> UNKNOWN_ENUM:f:<value>   (value shown under the same rules, below)
    pattern (option or quality invalidValues), format, length
                                    -> PATTERN_MISMATCH:f / INVALID_FORMAT:f / LENGTH_OUT_OF_RANGE:f
    minimum / maximum (exclusive)   -> OUT_OF_RANGE:f
    object children                 -> the same, on ``struct.child`` (guarded: a null parent adds nothing)
    array items                     -> the same, per element, with ``transform`` (a higher-order function)

A code is carried as ``<F|W><code>`` (severity first) so one array holds both; `verdict_columns`
turns it into the reason-code array and the PASS/WARN/FAIL result.

Type checks. Spark columns are typed, so TYPE_MISMATCH is decided from the column's Spark type where it
can be: e.g. a ``number`` rule on a DoubleType/DecimalType column always holds, on a StringType column it
never does (the stream enforcer sees a JSON string there too). Two logical types are checked per value
on string columns: ``date`` (``^\\d{4}-\\d{2}-\\d{2}$`` and a real calendar date, as the stream) and
``timestamp`` (an ISO-8601 regex: an approximation of Python's ``datetime.fromisoformat``; its date part
is a real calendar date, its time is not range-checked).
``coerce_strings=True`` (for all-string bronze data such as CSV) checks string columns for integer /
number / boolean rules with ``try_cast`` instead, and range-checks the cast value.

Where this differs from the stream enforcer (documented limits):
- UNKNOWN_ENUM shows the value in the code only for unclassified strings of <= 64 characters that
  cannot hold PII: shorter than 7 characters, or without a digit or ``@`` (every PII detector needs one
  of those). The stream's detectors are finer, so a digit-bearing enum value may lose its value here.
- Regexes run on Java's engine (``rlike``, find semantics, like ``re.search``); contract patterns that
  use Python-only syntax may behave differently.
- A MapType column satisfies ``object`` but its children are not checked (only struct fields are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812 - the conventional alias
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegralType,
    MapType,
    NullType,
    StringType,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from signal_factory.contracts.rules import _FORMATS, FAIL, WARN, CompiledContract, FieldRule
from signal_factory.privacy import guard

# An unknown enum value is named in its code only when the stream's guard keeps it as it is
# (privacy/guard.py): at most 64 characters of [A-Za-z0-9._/+:-] with at most 6 digits.
_MAX_VALUE_IN_CODE = guard.MAX_TOKEN
_SAFE_VALUE_RE = r"^[A-Za-z0-9._/+:-]+$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_TS_RE = (r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d{1,6})?)?)?"
              r"(Z|[+-]\d{2}(:?\d{2}(:?\d{2})?)?)?)?$")
_NUMERIC = (IntegralType, FloatType, DoubleType, DecimalType)
_SEVERITY_MARK = {FAIL: "F", WARN: "W"}


def _empty() -> Column:
    return F.array().cast("array<string>")


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """How the batch job reads the contract: stricter enums, string coercion."""

    strict_enums: bool = False
    coerce_strings: bool = False


def _is_string(dt: DataType | None) -> bool:
    return isinstance(dt, StringType)


def _type_state(rule: FieldRule, v: Column, dt: DataType | None,
                opts: RuleOptions) -> tuple[Column | None, Column, DataType | None]:
    """(type-ok condition or None when the Spark type settles it as ok, value to check options on, its type).

    Returns condition `F.lit(False)` when the Spark type can never hold the logical type.
    """
    logical = rule.logical_type
    if logical is None or isinstance(dt, NullType):
        return None, v, dt
    if logical in {"string", "time"}:
        return (None, v, dt) if _is_string(dt) else (F.lit(False), v, dt)
    if logical == "integer":
        if isinstance(dt, IntegralType):
            return None, v, dt
        if _is_string(dt) and opts.coerce_strings:
            cast = v.try_cast("bigint")
            return cast.isNotNull(), cast, IntegralType()
        return F.lit(False), v, dt
    if logical == "number":
        if isinstance(dt, _NUMERIC):
            return None, v, dt
        if _is_string(dt) and opts.coerce_strings:
            cast = v.try_cast("double")
            return cast.isNotNull(), cast, DoubleType()
        return F.lit(False), v, dt
    if logical == "boolean":
        if isinstance(dt, BooleanType):
            return None, v, dt
        if _is_string(dt) and opts.coerce_strings:
            cast = v.try_cast("boolean")
            return cast.isNotNull(), cast, BooleanType()
        return F.lit(False), v, dt
    if logical == "object":
        return (None, v, dt) if isinstance(dt, StructType | MapType) else (F.lit(False), v, dt)
    if logical == "array":
        return (None, v, dt) if isinstance(dt, ArrayType) else (F.lit(False), v, dt)
    if logical == "date":
        if isinstance(dt, DateType) or (rule.date_time_ok and isinstance(dt, TimestampType | TimestampNTZType)):
            return None, v, dt
        shape = _ISO_TS_RE if rule.date_time_ok else _DATE_RE
        return (v.rlike(shape) & _real_date(v), v, dt) if _is_string(dt) else (F.lit(False), v, dt)
    if logical == "timestamp":
        if isinstance(dt, TimestampType | TimestampNTZType | IntegralType | DateType):
            return None, v, dt
        return (v.rlike(_ISO_TS_RE) & _real_date(v), v, dt) if _is_string(dt) else (F.lit(False), v, dt)
    return None, v, dt  # unknown logical types are not checked (as the stream)


def _real_date(v: Column) -> Column:
    """The leading `yyyy-MM-dd` of an ISO string is a calendar date (2024-02-30 is not), as Python's
    `date.fromisoformat` / `datetime.fromisoformat` in the stream check it."""
    return F.try_to_date(F.substring(v, 1, 10), "yyyy-MM-dd").isNotNull()


class _Codes:
    """Accumulates severity-marked code columns: scalars (string or null) and arrays (of codes)."""

    def __init__(self) -> None:
        self.scalars: list[Column] = []
        self.arrays: list[Column] = []

    def add(self, guard: Column | None, cond: Column, severity: str, code: Column | str) -> None:
        full = cond if guard is None else guard & cond
        text = code if isinstance(code, Column) else F.lit(code)
        self.scalars.append(F.when(full, F.concat(F.lit(_SEVERITY_MARK[severity]), text)))

    def add_array(self, guard: Column | None, codes: Column) -> None:
        self.arrays.append(F.coalesce(codes if guard is None else F.when(guard, codes), _empty()))

    def combined(self) -> Column:
        parts = ([F.array(*self.scalars)] if self.scalars else []) + self.arrays
        if not parts:
            return _empty()
        return F.array_compact(parts[0] if len(parts) == 1 else F.concat(*parts))


def _and(a: Column | None, b: Column | None) -> Column | None:
    if a is None:
        return b
    return a if b is None else a & b


def _enum_code(rule: FieldRule, v: Column, dt: DataType | None) -> Column:
    prefix = f"UNKNOWN_ENUM:{rule.name}"
    if not _is_string(dt) or rule.is_pii:
        return F.lit(prefix)
    showable = ((F.length(v) <= _MAX_VALUE_IN_CODE) & v.rlike(_SAFE_VALUE_RE)
                & (F.length(F.regexp_replace(v, "[^0-9]", "")) <= guard.MAX_DIGITS))
    return F.when(showable, F.concat(F.lit(prefix + ":"), v)).otherwise(F.lit(prefix))


def _member(listed: tuple[Any, ...], v: Column, dt: DataType | None) -> Column:
    """`v` is one of `listed` (only the values of `v`'s own Spark type can match, as in Python)."""
    values: list[Any]
    if _is_string(dt):
        values = [x for x in listed if isinstance(x, str)]
    elif isinstance(dt, BooleanType):
        values = [x for x in listed if isinstance(x, bool)]
    elif isinstance(dt, _NUMERIC):
        values = [x for x in listed if isinstance(x, int | float) and not isinstance(x, bool)]
    else:
        values = []
    return v.isin(values) if values else F.lit(False)


def _enum_member(rule: FieldRule, v: Column, dt: DataType | None) -> Column:
    assert rule.enum is not None
    return _member(rule.enum_values, v, dt)


def _options(rule: FieldRule, v: Column, dt: DataType | None, guard: Column | None, out: _Codes) -> None:
    sev, name = rule.options_severity, rule.name
    if _is_string(dt):
        if rule.pattern is not None:
            out.add(guard, ~v.rlike(rule.pattern.pattern), sev, f"PATTERN_MISMATCH:{name}")
        if rule.valid_pattern is not None:
            out.add(guard, ~v.rlike(rule.valid_pattern.pattern), rule.valid_pattern_severity,
                    f"PATTERN_MISMATCH:{name}")
        fmt_re = _FORMATS.get(rule.fmt) if rule.fmt is not None else None
        if fmt_re is not None:
            out.add(guard, ~v.rlike(fmt_re.pattern), sev, f"INVALID_FORMAT:{name}")
        length_bad: Column | None = None
        if rule.min_length is not None:
            length_bad = F.length(v) < rule.min_length
        if rule.max_length is not None:
            too_long = F.length(v) > rule.max_length
            length_bad = too_long if length_bad is None else length_bad | too_long
        if length_bad is not None:
            out.add(guard, length_bad, sev, f"LENGTH_OUT_OF_RANGE:{name}")
    elif isinstance(dt, _NUMERIC):
        bad: list[Column] = []
        if rule.minimum is not None:
            bad.append(v < rule.minimum)
        if rule.maximum is not None:
            bad.append(v > rule.maximum)
        if rule.exclusive_minimum is not None:
            bad.append(v <= rule.exclusive_minimum)
        if rule.exclusive_maximum is not None:
            bad.append(v >= rule.exclusive_maximum)
        if bad:
            cond = bad[0]
            for more in bad[1:]:
                cond = cond | more
            out.add(guard, cond, sev, f"OUT_OF_RANGE:{name}")


def _child(v: Column, dt: DataType | None, name: str) -> tuple[Column, DataType | None]:
    if isinstance(dt, StructType):
        for f in dt.fields:
            if f.name == name:
                return v.getField(name), f.dataType
        return F.lit(None), None  # absent from the schema: always missing
    return v.getItem(name), None  # MapType: value type unknown here


def rule_codes(rule: FieldRule, v: Column, dt: DataType | None, guard: Column | None, opts: RuleOptions,
               out: _Codes) -> None:
    """Add the code columns of `rule` on value `v` (Spark type `dt`, None = absent) to `out`."""
    if rule.required:
        out.add(guard, v.isNull(), rule.required_severity, f"MISSING_FIELD:{rule.name}")
    if dt is None or isinstance(dt, NullType):
        return  # absent or always null: nothing but the required check can fire
    type_ok, value, value_dt = _type_state(rule, v, dt, opts)
    present = _and(guard, v.isNotNull())
    if rule.missing_values is not None:  # a listed "missing" value (quality missingValues) ends the checks
        listed = _member(rule.missing_values_list, v, dt)
        out.add(present, listed, rule.missing_severity, f"MISSING_FIELD:{rule.name}")
        present = _and(present, ~listed)
    if type_ok is not None:
        out.add(present, ~type_ok, rule.type_severity, f"TYPE_MISMATCH:{rule.name}")
    ok = _and(present, type_ok)
    if rule.enum is not None:
        severity = FAIL if opts.strict_enums else rule.enum_severity
        out.add(ok, ~_enum_member(rule, value, value_dt), severity, _enum_code(rule, value, value_dt))
    _options(rule, value, value_dt, ok, out)
    if rule.children and isinstance(dt, StructType | MapType):
        for child in rule.children:
            cv, cdt = _child(v, dt, child.path[0])
            for part in child.path[1:]:
                cv, cdt = _child(cv, cdt, part)
            rule_codes(child, cv, cdt, ok, opts, out)
    if rule.items and isinstance(dt, ArrayType):
        element_dt = dt.elementType
        out.add_array(ok, F.flatten(F.transform(v, _element_codes(rule.items, element_dt, opts))))


def _element_codes(items: tuple[FieldRule, ...], element_dt: DataType,
                   opts: RuleOptions) -> Callable[[Column], Column]:
    def codes(x: Column) -> Column:
        inner = _Codes()
        for item_rule in items:
            cv, cdt = _child(x, element_dt, item_rule.path[0]) if isinstance(element_dt, StructType | MapType) \
                else (F.lit(None), None)
            for part in item_rule.path[1:]:
                cv, cdt = _child(cv, cdt, part)
            rule_codes(item_rule, cv, cdt, None, opts, inner)
        return inner.combined()

    return codes


def marked_codes(contract: CompiledContract, schema: StructType, opts: RuleOptions) -> Column:
    """One array<string> column: every violated clause as ``<F|W><reason code>``, in rule order."""
    out = _Codes()
    for rule in contract.rules:
        v, dt = _top(schema, rule.path[0])
        for part in rule.path[1:]:
            v, dt = _child(v, dt, part)
        rule_codes(rule, v, dt, None, opts, out)
    return out.combined()


def _top(schema: StructType, name: str) -> tuple[Column, DataType | None]:
    for f in schema.fields:
        if f.name == name:
            return F.col(f"`{name}`"), f.dataType
    return F.lit(None), None


def verdict_columns(marked: Column) -> tuple[Column, Column]:
    """(reason codes without severity marks, de-duplicated, in order; result PASS/WARN/FAIL)."""
    codes = F.array_distinct(F.transform(marked, lambda c: c.substr(F.lit(2), F.length(c))))
    result = (F.when(F.exists(marked, lambda c: c.startswith("F")), F.lit(FAIL))
              .when(F.size(marked) > 0, F.lit(WARN))
              .otherwise(F.lit("PASS")))
    return codes, result
