"""ODCS v3 contract -> `CompiledContract`. Runs once per contract at load time.

What is enforced per record, from each schema property:
  required: true                         -> MISSING_FIELD:<field>        (null counts as missing)
  logicalType                            -> TYPE_MISMATCH:<field>
  logicalTypeOptions.pattern / format    -> PATTERN_MISMATCH / INVALID_FORMAT:<field>
  logicalTypeOptions.minLength/maxLength -> LENGTH_OUT_OF_RANGE:<field>
  logicalTypeOptions.minimum/maximum     -> OUT_OF_RANGE:<field>  (exclusiveMinimum/Maximum: true = strict)
  enum, v3.0 rule validValues, v3.1 invalidValues + validValues -> UNKNOWN_ENUM:<field>:<value>
  v3.1 invalidValues + arguments.pattern                      -> PATTERN_MISMATCH:<field>
  v3.0 nullCheck, v3.1 nullValues / missingValues             -> MISSING_FIELD:<field>
Quality rules are read per record when their threshold tolerates no bad record (contracts/quality.py);
the rest (tolerances, duplicateValues, rowCount, `unique: true`) become `CompiledContract.aggregates`, measured
per window by the signal engines (contracts/aggregate.py). Every clause we do not check becomes
`CompiledContract.notices` (shown by `config check` and at the start of `enforce` / `replay` / `serve`).
Severity: FAIL, unless the quality rule says `severity: warning` (or info), or the property has the
custom property `severity: warning`, which makes its required/type/option checks WARN.
Nested `properties` become dotted fields (`shipping_address.zip`); array `items` become `items[].sku`.
`classification` (pii, restricted, confidential, ...) marks a field as PII: values never appear in
evidence and G5 does not flag it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard, SchemaObject, SchemaProperty

from signal_factory.contracts.aggregate import AggregateRule
from signal_factory.contracts.quality import Notice, QualityRule, parse, per_record
from signal_factory.contracts.rules import _FORMATS, FAIL, WARN, CompiledContract, FieldRule

_DATE_TYPES = {"date", "timestamp", "time"}

_WARN_WORDS = {"warning", "warn", "info", "minor", "low"}


class ContractCompileError(ValueError):
    """The contract is valid ODCS but cannot be enforced (e.g. a bad regex). `key` says where, `fix` how."""

    def __init__(self, message: str, key: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.fix = fix


def _severity(word: str | None) -> str:
    return WARN if word is not None and word.strip().lower() in _WARN_WORDS else FAIL


def _custom(prop: SchemaProperty, name: str) -> Any:
    for cp in prop.customProperties or []:
        if cp.property == name:
            return cp.value
    return None


def _num(options: dict[str, Any], key: str) -> float | None:
    value = options.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


_OPTION_KEYS = {"pattern", "format", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum"}


@dataclass
class _FromQuality:
    """What a property's quality rules add to its per-record checks."""

    valid: tuple[Any, ...] | None = None
    valid_sev: str = FAIL
    pattern: re.Pattern[str] | None = None
    pattern_sev: str = FAIL
    not_null: bool = False
    null_sev: str = FAIL
    missing: tuple[Any, ...] = ()
    missing_sev: str = FAIL


def _quality(entries: list[dict[str, Any]], key: str, ctx: _Context, name: str, path: tuple[str, ...] | None
             ) -> _FromQuality:
    """Per-record checks from a property's quality rules; aggregate ones go to `ctx.aggregates` (`path`
    None: the property is inside an array, where a window measure has no meaning), the rest to notices."""
    out = _FromQuality()
    for i, q in enumerate(entries):
        at = f"{key}.quality[{i}]"
        parsed = parse(q, at)
        if parsed is None:
            continue
        if isinstance(parsed, Notice):
            ctx.notices.append(parsed)
            continue
        if not per_record(parsed):
            _aggregate(parsed, at, name, path, ctx)
            continue
        sev = _severity(parsed.severity)
        if parsed.metric == "invalidValues":
            if parsed.valid_values is not None:
                out.valid, out.valid_sev = parsed.valid_values, sev
            if parsed.pattern is not None:
                out.pattern, out.pattern_sev = _regex(parsed.pattern, f"{at}.arguments.pattern"), sev
        elif parsed.metric == "nullValues":
            out.not_null, out.null_sev = True, sev
        elif parsed.metric == "missingValues":
            listed = parsed.missing_values if parsed.missing_values is not None else (None,)
            if None in listed:
                out.not_null, out.null_sev = True, sev
            out.missing, out.missing_sev = tuple(v for v in listed if v is not None and _hashable(v)), sev
    return out


def _aggregate(rule: QualityRule, at: str, name: str | None, path: tuple[str, ...] | None, ctx: _Context,
               paths: tuple[tuple[str, ...], ...] | None = None) -> None:
    """An aggregate quality rule -> `ctx.aggregates`, or a notice saying why it cannot be measured."""
    if rule.metric == "rowCount":
        if rule.operator is None:
            ctx.notices.append(Notice(at, "rowCount needs an operator (e.g. `mustBeGreaterThan: 0`); not evaluated"))
            return
        name, paths = None, ()
    elif paths is None:
        if path is None:
            ctx.notices.append(Notice(at, f"aggregate rule {rule.metric} on a property inside an array is not "
                                          "evaluated (a window counts records, not array items)"))
            return
        paths = (path,)
    ctx.aggregates.append(AggregateRule(
        key=at, metric=rule.metric, operator=rule.operator, bound=rule.bound, unit=rule.unit,
        severity=_severity(rule.severity), field=name, paths=paths,
        valid_values=frozenset(v for v in rule.valid_values if _hashable(v)) if rule.valid_values is not None
        else None,
        pattern=_regex(rule.pattern, f"{at}.arguments.pattern") if rule.pattern is not None else None,
        missing_values=tuple(v for v in rule.missing_values or () if v is not None)))


def _regex(text: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as e:
        raise ContractCompileError(f"invalid regex {text!r}: {e}", key,
                                   "write a Python `re` pattern (quote it in YAML; escape `\\` as `\\\\`)") from e


def _bounds(options: dict[str, Any]) -> tuple[float | None, float | None, float | None, float | None]:
    """(minimum, maximum, exclusive minimum, exclusive maximum). ODCS writes `exclusiveMinimum: true` to
    make `minimum` strict; a number there (JSON Schema draft 6 style) is read as the strict bound itself."""
    low, high = _num(options, "minimum"), _num(options, "maximum")
    ex_low, ex_high = _num(options, "exclusiveMinimum"), _num(options, "exclusiveMaximum")
    if options.get("exclusiveMinimum") is True and low is not None:
        low, ex_low = None, low
    if options.get("exclusiveMaximum") is True and high is not None:
        high, ex_high = None, high
    return low, high, ex_low, ex_high


def _option_notices(options: dict[str, Any], logical: str | None, key: str, notices: list[Notice]) -> None:
    at = f"{key}.logicalTypeOptions"
    for name in options:
        if name not in _OPTION_KEYS:
            notices.append(Notice(f"{at}.{name}", f"logicalTypeOptions.{name} is not checked in stream"))
    fmt = options.get("format")
    if isinstance(fmt, str) and fmt not in _FORMATS and not (logical in _DATE_TYPES and _iso_format(fmt)):
        notices.append(Notice(f"{at}.format", f"format {fmt!r} is not checked in stream; checked formats: "
                              + ", ".join(sorted(_FORMATS)) + " (dates: ISO-8601)"))
    for bound in ("minimum", "maximum"):
        if isinstance(options.get(bound), str):
            notices.append(Notice(f"{at}.{bound}", f"a {logical} {bound} ({options[bound]!r}) is not "
                                  "checked in stream"))


def _iso_format(fmt: str) -> bool:
    return fmt.replace("'", "") in ("yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss",
                                    "yyyy-MM-dd HH:mm:ss.SSS", "yyyy-MM-ddTHH:mm:ss.SSSXXX")


def _date_time_ok(api_version: str | None, options: dict[str, Any]) -> bool:
    """Whether a `date` field may hold a date-time. ODCS v3.0.x has no `timestamp` type: its `date`
    covers date-times (its own `format` examples include `yyyy-MM-dd HH:mm:ss`), so yes there. From
    v3.1.0, which adds `timestamp` and `time`, a `date` is a calendar date unless its `format` has a time."""
    fmt = options.get("format")
    if isinstance(fmt, str) and "H" in fmt:
        return True
    return (api_version or "").lstrip("vV").startswith("3.0")


def _raw_quality(prop: SchemaProperty | SchemaObject, raw: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The quality entries as written: the raw mapping keeps v3.0's top-level `validValues`, which the
    ODCS model drops; without it (a model built in code) the model's fields."""
    if raw is not None and isinstance(raw.get("quality"), list):
        return [q if isinstance(q, dict) else {} for q in raw["quality"]]
    return [q.model_dump(exclude_none=True) for q in prop.quality or []]


def _sub(raw: dict[str, Any] | None, *path: str | int) -> dict[str, Any] | None:
    cur: Any = raw
    for part in path:
        if isinstance(part, int):
            cur = cur[part] if isinstance(cur, list) and part < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
    return cur if isinstance(cur, dict) else None


@dataclass
class _Context:
    api_version: str | None
    notices: list[Notice]
    aggregates: list[AggregateRule]


def _compile_property(prop: SchemaProperty, display: str, key: str, inherited_class: str | None,
                      raw: dict[str, Any] | None, ctx: _Context, parent: tuple[str, ...] | None = ()) -> FieldRule:
    """One property (and its children). `parent`: the path of the enclosing object from the record's root,
    None inside an array (aggregate rules need a field every record has at one place)."""
    if not prop.name:
        raise ContractCompileError("property has no `name`", key,
                                   "give the property a `name`: the record field it describes")
    path = (prop.name,)
    name = f"{display}{prop.name}"
    options = dict(prop.logicalTypeOptions or {})
    own_sev = _severity(_custom(prop, "severity"))
    logical = (prop.logicalType or "").lower() or None
    full = (*parent, prop.name) if parent is not None else None
    q = _quality(_raw_quality(prop, raw), key, ctx, name, full)
    _option_notices(options, logical, key, ctx.notices)
    if prop.unique:  # `unique: true` is `duplicateValues mustBe: 0`, measured per window
        sev = _custom(prop, "severity")
        _aggregate(QualityRule("duplicateValues", "mustBe", 0, "rows", str(sev) if sev is not None else None),
                   f"{key}.unique", name, full, ctx)
    valid = q.valid
    if prop.enum:
        valid = tuple(e.value for e in prop.enum)
    pattern = _regex(options["pattern"], f"{key}.logicalTypeOptions.pattern") \
        if isinstance(options.get("pattern"), str) else None
    classification = prop.classification or inherited_class
    required = bool(prop.required) or q.not_null
    children: tuple[FieldRule, ...] = ()
    items: tuple[FieldRule, ...] = ()
    if logical == "object" and prop.properties:
        children = tuple(_compile_property(child, f"{name}.", f"{key}.properties[{i}]", classification,
                                           _sub(raw, "properties", i), ctx, full)
                         for i, child in enumerate(prop.properties))
    if logical == "array" and prop.items is not None and prop.items.properties:
        items = tuple(_compile_property(child, f"{name}[].", f"{key}.items.properties[{i}]", classification,
                                        _sub(raw, "items", "properties", i), ctx, None)
                      for i, child in enumerate(prop.items.properties))
    low, high, ex_low, ex_high = _bounds(options)
    return FieldRule(
        name=name, path=path, required=required,
        required_severity=own_sev if prop.required else q.null_sev,
        logical_type=logical, type_severity=own_sev,
        date_time_ok=logical == "date" and _date_time_ok(ctx.api_version, options),
        enum=frozenset(v for v in valid if _hashable(v)) if valid is not None else None,
        enum_values=valid or (), enum_severity=q.valid_sev,
        pattern=pattern, fmt=options.get("format") if isinstance(options.get("format"), str) else None,
        min_length=_int_opt(options, "minLength"), max_length=_int_opt(options, "maxLength"),
        minimum=low, maximum=high, exclusive_minimum=ex_low, exclusive_maximum=ex_high,
        options_severity=own_sev, valid_pattern=q.pattern, valid_pattern_severity=q.pattern_sev,
        missing_values=frozenset(q.missing) if q.missing else None, missing_values_list=q.missing,
        missing_severity=q.missing_sev,
        classification=classification, items=items, children=children,
    )


def _object_rules(obj: SchemaObject, raw: dict[str, Any] | None, key: str, ctx: _Context) -> None:
    """Schema-level quality rules: rowCount, and duplicateValues over `arguments.properties`, per window."""
    for i, q in enumerate(_raw_quality(obj, raw)):
        at = f"{key}.quality[{i}]"
        parsed = parse(q, at)
        if isinstance(parsed, Notice):
            ctx.notices.append(parsed)
        elif parsed is None:
            continue
        elif parsed.metric == "rowCount":
            _aggregate(parsed, at, None, (), ctx)
        elif parsed.metric == "duplicateValues":
            args = q.get("arguments")
            names = args.get("properties") if isinstance(args, dict) else None
            if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
                ctx.notices.append(Notice(at, "a schema-level duplicateValues rule needs `arguments.properties` "
                                              "(the fields whose values together must be unique); not evaluated"))
                continue
            _aggregate(parsed, at, None, None, ctx, paths=tuple(tuple(n.split(".")) for n in names))
        else:
            ctx.notices.append(Notice(at, f"a schema-level {parsed.metric} rule names no property; not evaluated "
                                          "(put it under the property's `quality`)"))


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _int_opt(options: dict[str, Any], key: str) -> int | None:
    value = options.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def compile_contract(contract: OpenDataContractStandard, object_name: str | None = None,
                     raw: dict[str, Any] | None = None) -> CompiledContract:
    """Compile the schema object `object_name` (default: the first) of an ODCS contract. `raw` is the
    contract as parsed from YAML (it keeps what the model drops, e.g. v3.0's top-level `validValues`)."""
    objects = contract.schema_ or []
    if not objects:
        raise ContractCompileError("contract has no `schema` objects to enforce", "schema",
                                   "add a `schema:` list with one object whose `properties` are the record's "
                                   "fields (see examples/orders/contracts/orders.created.odcs.yaml)")
    index = 0
    if object_name is not None:
        names = [o.name for o in objects]
        if object_name not in names:
            raise ContractCompileError(
                f"no schema object named {object_name!r}; available: {', '.join(map(str, names))}", "schema",
                f"set `contract_object` in datasets.yaml to one of: {', '.join(map(str, names))}")
        index = names.index(object_name)
    obj = objects[index]
    raw_obj = _sub(raw, "schema", index)
    ctx = _Context(api_version=contract.apiVersion, notices=[], aggregates=[])
    _object_rules(obj, raw_obj, f"schema[{index}]", ctx)
    rules = [_compile_property(prop, "", f"schema[{index}].properties[{i}]", None,
                               _sub(raw_obj, "properties", i), ctx)
             for i, prop in enumerate(obj.properties or [])]
    pii = frozenset(r.name for top in rules for r in top.walk() if r.is_pii)
    return CompiledContract(contract_id=contract.id or contract.name or "unknown",
                            version=contract.version, object_name=obj.name, rules=tuple(rules),
                            pii_fields=pii, notices=tuple(ctx.notices), aggregates=tuple(ctx.aggregates))
