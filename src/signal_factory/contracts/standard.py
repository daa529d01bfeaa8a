"""Which ODCS versions we read, and the check of a contract against its own version's JSON Schema.

The schemas ship in `odcs_schemas/` (package data: no network at load time). Their sources:
  v3.0.0, v3.0.1, v3.0.2, v3.1.0: https://github.com/bitol-io/open-data-contract-standard
      schema/odcs-json-schema-v<version>.json at commit e6a1c66ffc08fd0135105cf5e8d6ce85c3099285
  v3.2.0: `open_data_contract_standard/schema.json` from the PyPI package open-data-contract-standard
      3.2.0 (the same package whose pydantic model reads the contract afterwards).
datacontract-cli 1.2.8 lints v3.0.0/v3.0.1 against its 3.0.2 schema; we use each version's own schema,
so keys that arrived later (a property's `physicalName` and team `name`/`description` in v3.0.2, top-level
`authoritativeDefinitions` in v3.0.1) are refused under the earlier version, with a fix naming the first
version that has them.
Validation is `jsonschema` (Draft 2019-09, which fastjsonschema does not implement); it runs once per
contract file at load time, never per record.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError, best_match

ACCEPTED_VERSIONS: tuple[str, ...] = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
_UNEXPECTED = re.compile(r"\('([^']+)'")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")


@dataclass(frozen=True)
class StandardViolation:
    """Where a contract departs from the ODCS version it declares, and how to fix it."""

    message: str
    path: tuple[str | int, ...]
    fix: str


@cache
def _validator(version: str) -> Draft201909Validator:
    text = resources.files("signal_factory.contracts").joinpath(
        f"odcs_schemas/odcs-json-schema-{version}.json").read_text(encoding="utf-8")
    return Draft201909Validator(json.loads(text))


def _plain(value: Any) -> Any:
    """YAML reads unquoted dates as date objects; JSON Schema (and ODCS) sees them as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _version_problem(data: dict[str, Any]) -> StandardViolation | None:
    accepted = ", ".join(ACCEPTED_VERSIONS)
    version = data.get("apiVersion")
    if version is None:
        return StandardViolation(
            f"the contract has no `apiVersion`; Signal Factory reads ODCS {accepted}", ("apiVersion",),
            "add `apiVersion: v3.1.0` (or the ODCS version the contract was written for) at the top")
    if version in ACCEPTED_VERSIONS:
        return None
    fix = f"set `apiVersion` to one of {accepted}"
    if isinstance(version, str) and version.startswith("v2"):
        fix += " after moving the contract to ODCS v3 (v2 keys such as `dataset` and `columns` became " \
               "`schema` and `properties`)"
    return StandardViolation(f"apiVersion {version!r} is not an ODCS version Signal Factory reads "
                             f"(accepted: {accepted})", ("apiVersion",), fix)


def _first_error(version: str, data: dict[str, Any]) -> ValidationError | None:
    error: ValidationError | None = best_match(_validator(version).iter_errors(data))
    return error


def _later_version_accepting(version: str, data: dict[str, Any]) -> str | None:
    for later in ACCEPTED_VERSIONS[ACCEPTED_VERSIONS.index(version) + 1:]:
        if _first_error(later, {**data, "apiVersion": later}) is None:
            return later
    return None


def _fix_for(error: ValidationError, version: str) -> tuple[tuple[str | int, ...], str]:
    """(path to point at, fix) for one JSON Schema error."""
    path: tuple[str | int, ...] = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("additionalProperties", "unevaluatedProperties"):
        m = _UNEXPECTED.search(error.message)
        key = m.group(1) if m else "that key"
        if m:
            path = (*path, key)  # point at the offending key's own line
        known = sorted(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        fix = f"remove or rename `{key}`: ODCS {version} has no such key here"
        if known:
            fix += f" (keys here: {', '.join(known)})"
        if key != "that key":
            fix += "; keep your own metadata under `customProperties`"
        return path, fix
    if kind == "enum":
        return path, f"use one of: {', '.join(map(str, error.validator_value))}"
    if kind == "required":
        m = _REQUIRED.match(error.message)
        return path, f"add `{m.group(1) if m else 'the key'}` here, as ODCS {version} requires"
    if kind == "type":
        return path, f"write a value of type {error.validator_value} here"
    return path, f"make this value satisfy the ODCS {version} rule `{kind}: {error.validator_value}`"


def check_standard(data: dict[str, Any]) -> StandardViolation | None:
    """The first way `data` departs from the ODCS version it declares, or None if it conforms."""
    problem = _version_problem(data)
    if problem is not None:
        return problem
    plain = _plain(data)
    try:
        key = orjson.dumps(plain, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a YAML type JSON has no word for (!!binary, !!set): check it uncached
        return _check(plain)
    return _check_cached(key)


@lru_cache(maxsize=512)
def _check_cached(key: bytes) -> StandardViolation | None:
    """The check is ~80 ms a contract (Draft 2019-09 `unevaluatedProperties` under `if`/`then`), and the
    contracts are loaded again and again in one process (the replay service, the detection benchmark's
    worlds, tests): the result is a pure function of the contract's content, so it is kept by that content."""
    return _check(orjson.loads(key))


def _check(plain: dict[str, Any]) -> StandardViolation | None:
    version = str(plain["apiVersion"])
    error = _first_error(version, plain)
    if error is None:
        return None
    path, fix = _fix_for(error, version)
    later = _later_version_accepting(version, plain)
    if later is not None:
        fix += f"; or declare `apiVersion: {later}`, where this contract is valid as written"
    return StandardViolation(f"not valid ODCS {version}: {error.message}", path, fix)
