"""The seam between gate G3 (pure) and wherever schemas live (files, HTTP registries)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import fastavro
import fastjsonschema
import msgspec

JSON = "JSON"
AVRO = "AVRO"
PROTOBUF = "PROTOBUF"


class SchemaDoc(msgspec.Struct, frozen=True):
    """A schema as a registry holds it: id, type (JSON | AVRO | PROTOBUF) and its text."""

    schema_id: str
    schema_type: str
    text: str
    version: int | None = None
    subject: str | None = None


class SchemaSource(Protocol):
    """Anything that can hand out schemas by id.

    Raises `SchemaNotFoundError` when the registry answered and has no such id, and
    `RegistryUnavailableError` when it could not answer (network, 5xx, timeout).
    """

    def get(self, schema_id: str) -> SchemaDoc: ...


class ResolvedSchema(msgspec.Struct, frozen=True):
    """A schema ready for the gate: the doc, a compiled validator, and whether it is stale.

    `stale` means the registry could not be reached and this is the last-known-good copy.
    """

    doc: SchemaDoc
    stale: bool = False


class SchemaViolation(msgspec.Struct, frozen=True):
    """First way a value breaks a schema: a stable reason code and a description without values."""

    reason_code: str
    rule: str
    field: str
    message: str


def parse_avro(doc: SchemaDoc) -> Any:
    """fastavro's parsed form of an Avro schema doc."""
    return fastavro.parse_schema(json.loads(doc.text))


def compile_json_schema(doc: SchemaDoc) -> Callable[[Any], Any]:
    """A compiled JSON Schema validator (fastjsonschema generates Python code once per schema)."""
    return fastjsonschema.compile(json.loads(doc.text))
