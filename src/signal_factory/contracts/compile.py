"""ODCS v3 contract -> `CompiledContract`. Runs once per contract at load time.

What is enforced per record, from each schema property:
  required: true                         -> MISSING_FIELD:<field>        (null counts as missing)
  logicalType                            -> TYPE_MISMATCH:<field>
  logicalTypeOptions.pattern / format    -> PATTERN_MISMATCH / INVALID_FORMAT:<field>
  logicalTypeOptions.minLength/maxLength -> LENGTH_OUT_OF_RANGE:<field>
  logicalTypeOptions.minimum/maximum/... -> OUT_OF_RANGE:<field>
  enum, or quality invalidValues with arguments.validValues -> UNKNOWN_ENUM:<field>:<value>
  quality nullValues / missingValues with mustBe 0           -> MISSING_FIELD:<field>
Severity: FAIL, unless the quality rule says `severity: warning` (or info), or the property has the
custom property `severity: warning`, which makes its required/type/option checks WARN.
Nested `properties` become dotted fields (`shipping_address.zip`); array `items` become `items[].sku`.
`classification` (pii, restricted, confidential, ...) marks a field as PII: values never appear in
evidence and G5 does not flag it.
"""

from __future__ import annotations

import re
from typing import Any

from open_data_contract_standard.model import DataQuality, OpenDataContractStandard, SchemaProperty

from signal_factory.contracts.rules import FAIL, WARN, CompiledContract, FieldRule

_WARN_WORDS = {"warning", "warn", "info", "minor", "low"}


class ContractCompileError(ValueError):
    """The contract is valid ODCS but cannot be enforced (e.g. a bad regex). `key` says where."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


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


def _quality(rules: list[DataQuality] | None) -> tuple[tuple[Any, ...] | None, str, bool, str]:
    """(valid values, their severity, not-null required, its severity) from quality rules."""
    valid: tuple[Any, ...] | None = None
    valid_sev = FAIL
    not_null = False
    null_sev = FAIL
    for q in rules or []:
        metric = (q.metric or q.rule or "").strip()
        if metric in ("invalidValues", "validValues") and q.arguments:
            values = q.arguments.get("validValues")
            if isinstance(values, list):
                valid = tuple(values)
                valid_sev = _severity(q.severity)
        elif metric in ("nullValues", "missingValues") and q.mustBe in (0, "0"):
            not_null = True
            null_sev = _severity(q.severity)
    return valid, valid_sev, not_null, null_sev


def _compile_property(prop: SchemaProperty, display: str, key: str,
                      inherited_class: str | None) -> FieldRule:
    if not prop.name:
        raise ContractCompileError("property has no `name`", key)
    path = (prop.name,)
    name = f"{display}{prop.name}"
    options = dict(prop.logicalTypeOptions or {})
    own_sev = _severity(_custom(prop, "severity"))
    valid, valid_sev, not_null, null_sev = _quality(prop.quality)
    if prop.enum:
        valid = tuple(e.value for e in prop.enum)
    pattern = None
    if isinstance(options.get("pattern"), str):
        try:
            pattern = re.compile(options["pattern"])
        except re.error as e:
            raise ContractCompileError(f"invalid regex {options['pattern']!r}: {e}",
                                       f"{key}.logicalTypeOptions.pattern") from e
    classification = prop.classification or inherited_class
    logical = (prop.logicalType or "").lower() or None
    required = bool(prop.required) or not_null
    children: tuple[FieldRule, ...] = ()
    items: tuple[FieldRule, ...] = ()
    if logical == "object" and prop.properties:
        children = tuple(_compile_property(child, f"{name}.", f"{key}.properties[{i}]", classification)
                         for i, child in enumerate(prop.properties))
    if logical == "array" and prop.items is not None and prop.items.properties:
        items = tuple(_compile_property(child, f"{name}[].", f"{key}.items.properties[{i}]", classification)
                      for i, child in enumerate(prop.items.properties))
    return FieldRule(
        name=name, path=path, required=required,
        required_severity=own_sev if prop.required else null_sev,
        logical_type=logical, type_severity=own_sev,
        enum=frozenset(v for v in valid if _hashable(v)) if valid is not None else None,
        enum_values=valid or (), enum_severity=valid_sev,
        pattern=pattern, fmt=options.get("format") if isinstance(options.get("format"), str) else None,
        min_length=_int_opt(options, "minLength"), max_length=_int_opt(options, "maxLength"),
        minimum=_num(options, "minimum"), maximum=_num(options, "maximum"),
        exclusive_minimum=_num(options, "exclusiveMinimum"), exclusive_maximum=_num(options, "exclusiveMaximum"),
        options_severity=own_sev, classification=classification, items=items, children=children,
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _int_opt(options: dict[str, Any], key: str) -> int | None:
    value = options.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def compile_contract(contract: OpenDataContractStandard, object_name: str | None = None) -> CompiledContract:
    """Compile the schema object `object_name` (default: the first) of an ODCS contract."""
    objects = contract.schema_ or []
    if not objects:
        raise ContractCompileError("contract has no `schema` objects to enforce", "schema")
    index = 0
    if object_name is not None:
        names = [o.name for o in objects]
        if object_name not in names:
            raise ContractCompileError(
                f"no schema object named {object_name!r}; available: {', '.join(map(str, names))}", "schema")
        index = names.index(object_name)
    obj = objects[index]
    rules = [_compile_property(prop, "", f"schema[{index}].properties[{i}]", None)
             for i, prop in enumerate(obj.properties or [])]
    pii = frozenset(r.name for top in rules for r in top.walk() if r.is_pii)
    return CompiledContract(contract_id=contract.id or contract.name or "unknown",
                            version=contract.version, object_name=obj.name, rules=tuple(rules),
                            pii_fields=pii)
