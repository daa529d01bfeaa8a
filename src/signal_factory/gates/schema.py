"""G3 schema: decode the value and check its shape against the registered schema.

The schema is chosen by header `x-obs-schema-id`, else the Confluent wire-format id (magic byte 0 +
4-byte id), else the dataset's default. Registry trouble is never a false FAIL: with only a
last-known-good copy the gate validates against it and reports WARN `REGISTRY_STALE`; with no copy
at all, WARN `REGISTRY_STALE` without validation.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any, Protocol

import fastavro
import fastjsonschema
import msgspec

from signal_factory.controlplane.model import Dataset
from signal_factory.errors import RegistryUnavailableError, SchemaNotFoundError
from signal_factory.model.evidence import FAIL, G3_SCHEMA, PASS, SKIP, WARN, GateResult
from signal_factory.registry.base import AVRO, JSON, ResolvedSchema, parse_avro

UNDECODED: Any = object()  # sentinel: the value could not be decoded into a payload
_json = msgspec.json.Decoder()
_RULE_KIND = {
    "required": "MISSING_FIELD", "type": "TYPE_MISMATCH", "enum": "UNKNOWN_ENUM", "const": "UNKNOWN_ENUM",
    "pattern": "PATTERN_MISMATCH", "format": "INVALID_FORMAT", "minimum": "OUT_OF_RANGE",
    "maximum": "OUT_OF_RANGE", "exclusiveMinimum": "OUT_OF_RANGE", "exclusiveMaximum": "OUT_OF_RANGE",
    "minLength": "LENGTH_OUT_OF_RANGE", "maxLength": "LENGTH_OUT_OF_RANGE",
    "additionalProperties": "UNEXPECTED_FIELD",
}


def split_envelope(obj: Any) -> tuple[Any, Any]:
    """(domain payload, envelope metadata): unwrap a raw-event envelope (seed 1.1) if it is one."""
    if isinstance(obj, dict) and "event_type" in obj and isinstance(obj.get("payload"), dict):
        return obj["payload"], obj.get("metadata")
    return obj, None


class SchemaResolver(Protocol):
    def resolve(self, schema_id: str) -> ResolvedSchema: ...


class _Compiled:
    """A schema compiled for checking: `check(obj)` -> None or (reason_code, details)."""

    def __init__(self, resolved: ResolvedSchema) -> None:
        self.doc = resolved.doc
        self.avro: Any = None
        self._json_check: Callable[[Any], Any] | None = None
        if self.doc.schema_type == JSON:
            self._json_check = fastjsonschema.compile(_json.decode(self.doc.text))
        elif self.doc.schema_type == AVRO:
            self.avro = parse_avro(self.doc)

    def check(self, obj: Any) -> tuple[str, dict[str, Any]] | None:
        if self._json_check is not None:
            try:
                self._json_check(obj)
            except fastjsonschema.JsonSchemaValueException as e:
                return _json_violation(e)
            return None
        if self.avro is not None:
            if fastavro.validation.validate(obj, self.avro, raise_errors=False):
                return None
            return "SCHEMA_MISMATCH:$", {"rule": "avro", "message": "value does not match the Avro schema"}
        return None  # PROTOBUF shape is only checked by decoding on the wire


def _json_violation(e: fastjsonschema.JsonSchemaValueException) -> tuple[str, dict[str, Any]]:
    path = [str(p) for p in (e.path or [])[1:]]
    rule = e.rule or "schema"
    if rule == "required" and isinstance(e.value, dict) and isinstance(e.rule_definition, list):
        missing = [p for p in e.rule_definition if p not in e.value]
        if missing:
            path.append(str(missing[0]))
    field = ".".join(path) or "$"
    kind = _RULE_KIND.get(rule, "SCHEMA_VIOLATION")
    # The message names the field and rule; the offending value is never copied into evidence.
    return f"{kind}:{field}", {"rule": rule, "field": field}


class SchemaGate:
    def __init__(self, resolver: SchemaResolver) -> None:
        self._resolver = resolver
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._pass: dict[str, GateResult] = {}

    def decode_plain(self, value: bytes) -> Any:
        """JSON text -> object, or UNDECODED."""
        try:
            return _json.decode(value)
        except msgspec.DecodeError:
            return UNDECODED

    def run(self, headers: dict[str, str], value: bytes | None, value_obj: Any,
            dataset: Dataset | None) -> tuple[GateResult, Any]:
        """(gate result, decoded value or UNDECODED)."""
        wire_id: int | None = None
        if value_obj is msgspec.UNSET and value is not None and len(value) >= 5 and value[0] == 0:
            wire_id = struct.unpack_from(">I", value, 1)[0]
        schema_id = headers.get("x-obs-schema-id") or (f"confluent:{wire_id}" if wire_id is not None
                                                       else (dataset.schema if dataset else None))
        if value_obj is msgspec.UNSET and value is None:
            return GateResult(G3_SCHEMA, WARN, "EMPTY_VALUE:value",
                              {"message": "record has no value (tombstone)"}), UNDECODED
        compiled: _Compiled | None = None
        stale = False
        if schema_id is not None:
            try:
                resolved = self._resolver.resolve(schema_id)
            except SchemaNotFoundError:
                return self._not_found(schema_id, value, value_obj, wire_id)
            except RegistryUnavailableError:
                obj = self._decode(value, value_obj, None, wire_id)
                return GateResult(G3_SCHEMA, WARN, "REGISTRY_STALE", {
                    "schema_id": schema_id, "validated": False,
                    "message": "schema registry unreachable and no last-known-good copy; not validated"}), obj
            compiled = self._compile(resolved)
            stale = resolved.stale
        obj = self._decode(value, value_obj, compiled, wire_id)
        if obj is UNDECODED:
            fmt = "avro" if wire_id is not None and compiled and compiled.avro is not None else "json"
            return GateResult(G3_SCHEMA, FAIL, f"MALFORMED_PAYLOAD:{fmt}", {
                "schema_id": schema_id, "message": f"value is not decodable {fmt}"}), obj
        if compiled is None:
            return GateResult(G3_SCHEMA, SKIP, None, {"reason": "no schema for this record"}), obj
        violation = compiled.check(split_envelope(obj)[0])
        if stale:
            details: dict[str, Any] = {"schema_id": schema_id, "validated_against": "last-known-good"}
            if violation is not None:
                details["would_fail"] = violation[0]
            return GateResult(G3_SCHEMA, WARN, "REGISTRY_STALE", details), obj
        if violation is None:
            assert schema_id is not None
            ok = self._pass.get(schema_id)
            if ok is None:
                ok = self._pass[schema_id] = GateResult(G3_SCHEMA, PASS, None, {"schema_id": schema_id})
            return ok, obj
        code, info = violation
        return GateResult(G3_SCHEMA, FAIL, code, {"schema_id": schema_id, **info}), obj

    def _not_found(self, schema_id: str, value: bytes | None, value_obj: Any,
                   wire_id: int | None) -> tuple[GateResult, Any]:
        obj = self._decode(value, value_obj, None, wire_id)
        return GateResult(G3_SCHEMA, FAIL, f"UNKNOWN_SCHEMA:{schema_id}", {
            "schema_id": schema_id, "message": "the registry has no schema with this id"}), obj

    def _compile(self, resolved: ResolvedSchema) -> _Compiled:
        key = (resolved.doc.schema_id, resolved.doc.text)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(resolved)
        return compiled

    def _decode(self, value: bytes | None, value_obj: Any, compiled: _Compiled | None,
                wire_id: int | None) -> Any:
        if value_obj is not msgspec.UNSET:
            if isinstance(value_obj, str):  # plain form with JSON text in `value`
                return self.decode_plain(value_obj.encode("utf-8", "surrogatepass"))
            return value_obj
        if value is None:
            return UNDECODED
        if wire_id is None:
            return self.decode_plain(value)
        body = value[5:]
        if compiled is not None and compiled.avro is not None:
            try:
                return fastavro.schemaless_reader(io.BytesIO(body), compiled.avro)
            except Exception:
                return UNDECODED
        return self.decode_plain(body)
