"""G3 schema: decode the value and check its shape against the registered schema.

The schema is chosen by header `x-obs-schema-id`, else the Confluent wire-format id (magic byte 0 +
4-byte id), else the dataset's default. Schema ids and field paths are written through the guard
(`privacy/guard.py`): a header or key name never reaches evidence raw. Registry trouble is never a
false FAIL: with only a last-known-good copy the gate validates against it and reports WARN
`REGISTRY_STALE`; with no copy at all, WARN `REGISTRY_STALE` without validation. A value nested
deeper than `MAX_DEPTH` is FAIL `MALFORMED_RECORD:depth` (and not decoded), whatever the registry says.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any, Protocol

import fastavro
import fastjsonschema
import msgspec

from signal_factory.codegen import CodeWriter
from signal_factory.controlplane.model import Dataset
from signal_factory.errors import RegistryUnavailableError, SchemaNotFoundError
from signal_factory.model.evidence import FAIL, G3_SCHEMA, PASS, SKIP, WARN, GateResult
from signal_factory.model.nesting import DEPTH_CODE, DEPTH_MESSAGE, may_be_too_deep, too_deep
from signal_factory.privacy.guard import safe_path, safe_token
from signal_factory.registry.base import AVRO, JSON, ResolvedSchema, parse_avro

UNDECODED: Any = object()  # sentinel: the value could not be decoded into a payload
TOO_DEEP: Any = object()  # sentinel: the value nests deeper than MAX_DEPTH (callers see UNDECODED)
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
        self._json_screen: Callable[[Any], bool] | None = None
        if self.doc.schema_type == JSON:
            definition = _json.decode(self.doc.text)
            self._json_check = fastjsonschema.compile(definition)
            self._json_screen = compile_json_screen(definition)
        elif self.doc.schema_type == AVRO:
            self.avro = parse_avro(self.doc)

    def check(self, obj: Any) -> tuple[str, dict[str, Any]] | None:
        if self._json_check is not None:
            if self._json_screen is not None and self._json_screen(obj):
                return None
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


# -- JSON Schema screen ------------------------------------------------------------------------------
# fastjsonschema costs ~2 us a record on a 9-property schema (it builds key sets, formats names). For
# schemas made only of `type`, `required`, `properties` and `items` (plus annotations), the schema is
# also compiled into a straight-line `screen(obj) -> bool`. True means valid, and is only answered
# when every condition it tested implies fastjsonschema's own for that keyword (the screen's types
# are subsets: `integer` is an int but not a bool, `number` an int or float but not a bool, ...);
# False means "ask fastjsonschema", which then finds the violation or accepts. Anything else in the
# schema -- `$ref`, `default` (fastjsonschema fills defaults in), `format`, `enum`, boolean
# subschemas, tuple `items` -- means no screen at all. tests/gates/test_schema_fastpath.py checks it.

_SCREEN_ANNOTATIONS = frozenset({
    "$schema", "$id", "id", "title", "description", "$comment", "examples", "readOnly", "writeOnly",
    "deprecated"})
_SCREEN_TYPES = {  # JSON type -> condition on `{v}` that implies fastjsonschema's check (drafts 4, 6, 7)
    "string": "isinstance({v}, str)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool))",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, (list, tuple))",
}


class _UnsupportedError(Exception):
    """The schema uses something the screen does not model: no screen, fastjsonschema alone."""


class _ScreenWriter(CodeWriter):
    def __init__(self) -> None:
        super().__init__({"_ABSENT": _ABSENT})

    def schema(self, ind: int, schema: Any, v: str) -> None:
        """Code that returns False unless `v` is certainly valid against `schema`."""
        if not isinstance(schema, dict):
            raise _UnsupportedError("boolean or non-object subschema")
        for key in schema:
            if not isinstance(key, str) or (key not in _SCREEN_ANNOTATIONS and not key.startswith("x-")
                                            and key not in ("type", "required", "properties", "items")):
                raise _UnsupportedError(f"keyword {key!r}")
        types: list[str] | None = None
        if "type" in schema:
            raw = schema["type"]
            types = [raw] if isinstance(raw, str) else raw
            if not isinstance(types, list) or not types or not all(t in _SCREEN_TYPES for t in types):
                raise _UnsupportedError("type")
            cond = " or ".join(_SCREEN_TYPES[t].format(v=v) for t in types)
            self.emit(ind, f"if not ({cond}):")
            self.emit(ind + 1, "return False")
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
            raise _UnsupportedError("required")
        if not isinstance(properties, dict) or not all(isinstance(k, str) for k in properties):
            raise _UnsupportedError("properties")
        if required or properties:
            inner = ind
            if types != ["object"]:  # the keywords apply to objects only
                self.emit(ind, f"if isinstance({v}, dict):")
                inner = ind + 1
            for key in required:
                if key not in properties:
                    self.emit(inner, f"if {self.const(key)} not in {v}:")
                    self.emit(inner + 1, "return False")
            for key, sub in properties.items():
                c = self.var()
                self.emit(inner, f"{c} = {v}.get({self.const(key)}, _ABSENT)")
                if key in required:
                    self.emit(inner, f"if {c} is _ABSENT:")
                    self.emit(inner + 1, "return False")
                    self.schema(inner, sub, c)
                else:
                    self.emit(inner, f"if {c} is not _ABSENT:")
                    self.schema(inner + 1, sub, c)
                    self.emit(inner + 1, "pass")
        if "items" in schema:
            items = schema["items"]
            if not isinstance(items, dict):
                raise _UnsupportedError("tuple or boolean items")
            el = self.var()
            inner = ind
            if types != ["array"]:
                self.emit(ind, f"if isinstance({v}, (list, tuple)):")
                inner = ind + 1
            self.emit(inner, f"for {el} in {v}:")
            self.schema(inner + 1, items, el)
            self.emit(inner + 1, "pass")


_ABSENT: Any = object()


def compile_json_screen(definition: Any) -> Callable[[Any], bool] | None:
    """`screen(obj) -> bool` for a JSON Schema in the screen's subset (True: certainly valid), else None."""
    w = _ScreenWriter()
    w.emit(0, "def screen(v0):")
    try:
        w.schema(1, definition, "v0")
    except _UnsupportedError:
        return None
    w.emit(1, "return True")
    screen: Callable[[Any], bool] = w.build("screen", "<json schema screen>")
    return screen


def _json_violation(e: fastjsonschema.JsonSchemaValueException) -> tuple[str, dict[str, Any]]:
    path = [str(p) for p in (e.path or [])[1:]]
    rule = e.rule or "schema"
    if rule == "required" and isinstance(e.value, dict) and isinstance(e.rule_definition, list):
        missing = [p for p in e.rule_definition if p not in e.value]
        if missing:
            path.append(str(missing[0]))
    field = safe_path(".".join(path) or "$")  # payload key names are producer-controlled
    kind = _RULE_KIND.get(rule, "SCHEMA_VIOLATION")
    # The message names the field and rule; the offending value is never copied into evidence.
    return f"{kind}:{field}", {"rule": rule, "field": field}


class SchemaGate:
    def __init__(self, resolver: SchemaResolver) -> None:
        self._resolver = resolver
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._by_doc: dict[int, tuple[Any, _Compiled]] = {}  # id(doc) -> (doc, compiled): skips hashing
        self._pass: dict[str, GateResult] = {}

    def decode_plain(self, value: bytes) -> Any:
        """JSON text -> object, or UNDECODED, or TOO_DEEP."""
        try:
            obj = _json.decode(value)
        except msgspec.DecodeError:
            return UNDECODED
        except RecursionError:
            return TOO_DEEP
        if may_be_too_deep(value) and too_deep(obj):
            return TOO_DEEP
        return obj

    def run(self, headers: dict[str, str], value: bytes | None, value_obj: Any,
            dataset: Dataset | None) -> tuple[GateResult, Any]:
        """(gate result, decoded value or UNDECODED)."""
        gate, obj, _split = self._run(headers, value, value_obj, dataset)
        if obj is TOO_DEEP:
            return _depth_gate(), UNDECODED
        return gate, obj

    def run_split(self, headers: dict[str, str], value: bytes | None, value_obj: Any,
                  dataset: Dataset | None) -> tuple[GateResult, Any, Any, Any]:
        """`run`, plus `split_envelope` of the decoded value: (gate, obj, payload, metadata).

        payload and metadata are (None, None) when the value is UNDECODED.
        """
        gate, obj, split = self._run(headers, value, value_obj, dataset)
        if obj is TOO_DEEP:
            return _depth_gate(), UNDECODED, None, None
        if split is None:
            split = (None, None) if obj is UNDECODED else split_envelope(obj)
        return gate, obj, split[0], split[1]

    def _run(self, headers: dict[str, str], value: bytes | None, value_obj: Any,
             dataset: Dataset | None) -> tuple[GateResult, Any, tuple[Any, Any] | None]:
        """(gate, decoded value or UNDECODED, `split_envelope(value)` if it was computed)."""
        wire_id: int | None = None
        if value_obj is msgspec.UNSET and value is not None and len(value) >= 5 and value[0] == 0:
            wire_id = struct.unpack_from(">I", value, 1)[0]
        schema_id = headers.get("x-obs-schema-id") or (f"confluent:{wire_id}" if wire_id is not None
                                                       else (dataset.schema if dataset else None))
        if value_obj is msgspec.UNSET and value is None:
            return GateResult(G3_SCHEMA, WARN, "EMPTY_VALUE:value",
                              {"message": "record has no value (tombstone)"}), UNDECODED, None
        compiled: _Compiled | None = None
        stale = False
        if schema_id is not None:
            try:
                resolved = self._resolver.resolve(schema_id)
            except SchemaNotFoundError:
                gate, obj = self._not_found(schema_id, value, value_obj, wire_id)
                return gate, obj, None
            except RegistryUnavailableError:
                obj = self._decode(value, value_obj, None, wire_id)
                return GateResult(G3_SCHEMA, WARN, "REGISTRY_STALE", {
                    "schema_id": safe_token(schema_id), "validated": False,
                    "message": "schema registry unreachable and no last-known-good copy; not validated"},
                ), obj, None
            hit = self._by_doc.get(id(resolved.doc))
            compiled = hit[1] if hit is not None and hit[0] is resolved.doc else self._compile(resolved)
            stale = resolved.stale
        if value_obj is msgspec.UNSET and wire_id is None and value is not None:
            obj = self.decode_plain(value)  # `_decode`'s branch for JSON text, without the detour
        else:
            obj = self._decode(value, value_obj, compiled, wire_id)
        if obj is TOO_DEEP:
            return _depth_gate(), obj, None
        if obj is UNDECODED:
            fmt = "avro" if wire_id is not None and compiled and compiled.avro is not None else "json"
            return GateResult(G3_SCHEMA, FAIL, f"MALFORMED_PAYLOAD:{fmt}", {
                "schema_id": None if schema_id is None else safe_token(schema_id),
                "message": f"value is not decodable {fmt}"}), obj, None
        if compiled is None:
            return GateResult(G3_SCHEMA, SKIP, None, {"reason": "no schema for this record"}), obj, None
        split = split_envelope(obj)
        violation = compiled.check(split[0])
        if stale:
            assert schema_id is not None  # stale means a schema was resolved by id
            details: dict[str, Any] = {"schema_id": safe_token(schema_id), "validated_against": "last-known-good"}
            if violation is not None:
                details["would_fail"] = violation[0]
            return GateResult(G3_SCHEMA, WARN, "REGISTRY_STALE", details), obj, split
        if violation is None:
            assert schema_id is not None
            ok = self._pass.get(schema_id)
            if ok is None:
                ok = self._pass[schema_id] = GateResult(G3_SCHEMA, PASS, None, {"schema_id": safe_token(schema_id)})
            return ok, obj, split
        code, info = violation
        assert schema_id is not None  # a violation means a schema was resolved by id
        return GateResult(G3_SCHEMA, FAIL, code, {"schema_id": safe_token(schema_id), **info}), obj, split

    def _not_found(self, schema_id: str, value: bytes | None, value_obj: Any,
                   wire_id: int | None) -> tuple[GateResult, Any]:
        obj = self._decode(value, value_obj, None, wire_id)
        shown = safe_token(schema_id)  # straight from a header: never written raw
        return GateResult(G3_SCHEMA, FAIL, f"UNKNOWN_SCHEMA:{shown}", {
            "schema_id": shown, "message": "the registry has no schema with this id"}), obj

    def _compile(self, resolved: ResolvedSchema) -> _Compiled:
        key = (resolved.doc.schema_id, resolved.doc.text)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(resolved)
        if len(self._by_doc) >= 1024:
            self._by_doc.clear()
        self._by_doc[id(resolved.doc)] = (resolved.doc, compiled)
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
                decoded = fastavro.schemaless_reader(io.BytesIO(body), compiled.avro)
            except RecursionError:
                return TOO_DEEP
            except Exception:
                return UNDECODED
            return TOO_DEEP if too_deep(decoded) else decoded
        return self.decode_plain(body)


def _depth_gate() -> GateResult:
    return GateResult(G3_SCHEMA, FAIL, DEPTH_CODE, {"message": DEPTH_MESSAGE})
