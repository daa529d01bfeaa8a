"""Schemas kept as files in the config directory (`schemas/*.json`, `schemas/*.avsc`).

A JSON Schema's id is its `$id`; an Avro schema's id is its `x-schema-id` attribute (Avro allows
extra attributes). A Confluent numeric id can be given as `x-confluent-id` so wire-format records
resolve without a live registry.
"""

from __future__ import annotations

import json
from pathlib import Path

from signal_factory.errors import ConfigError, SchemaNotFoundError
from signal_factory.registry.base import AVRO, JSON, SchemaDoc


class LocalSchemaRegistry:
    """In-memory map of schema id -> doc, loaded from a folder."""

    def __init__(self, docs: dict[str, SchemaDoc] | None = None) -> None:
        self._docs: dict[str, SchemaDoc] = dict(docs or {})

    @classmethod
    def from_dir(cls, folder: Path) -> LocalSchemaRegistry:
        docs: dict[str, SchemaDoc] = {}
        if not folder.is_dir():
            return cls(docs)
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".json", ".avsc"):
                continue
            text = path.read_text(encoding="utf-8")
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ConfigError(str(path), f"not valid JSON: {e.msg}", line=e.lineno,
                                  fix="fix the JSON syntax at that line") from e
            is_avro = path.suffix == ".avsc"
            id_key = "x-schema-id" if is_avro else "$id"
            schema_id = data.get(id_key) if isinstance(data, dict) else None
            if not isinstance(schema_id, str) or not schema_id:
                raise ConfigError(str(path), f"schema has no `{id_key}`", key=id_key,
                                  fix=f'add "{id_key}": "<registry id, e.g. glue:orders.created:17>"')
            if schema_id in docs:
                raise ConfigError(str(path), f"schema id {schema_id!r} is defined twice", key=id_key,
                                  fix="give each schema file a unique id")
            version = _version_of(schema_id)
            doc = SchemaDoc(schema_id, AVRO if is_avro else JSON, text, version=version)
            docs[schema_id] = doc
            confluent_id = data.get("x-confluent-id")
            if confluent_id is not None:
                docs[f"confluent:{confluent_id}"] = doc
        return cls(docs)

    def get(self, schema_id: str) -> SchemaDoc:
        try:
            return self._docs[schema_id]
        except KeyError:
            raise SchemaNotFoundError(f"no schema {schema_id!r} in local registry") from None

    def ids(self) -> list[str]:
        return sorted(self._docs)


def _version_of(schema_id: str) -> int | None:
    tail = schema_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else None
