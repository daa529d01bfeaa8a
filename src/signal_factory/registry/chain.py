"""Local schema files first, then (if configured) a remote registry behind the last-known-good cache."""

from __future__ import annotations

from typing import Protocol

from signal_factory.errors import SchemaNotFoundError
from signal_factory.registry.base import ResolvedSchema
from signal_factory.registry.local import LocalSchemaRegistry


class Resolver(Protocol):
    def resolve(self, schema_id: str) -> ResolvedSchema: ...


class SchemaResolverChain:
    def __init__(self, local: LocalSchemaRegistry, remote: Resolver | None = None) -> None:
        self._local = local
        self._remote = remote
        self._local_hits: dict[str, ResolvedSchema] = {}

    def resolve(self, schema_id: str) -> ResolvedSchema:
        hit = self._local_hits.get(schema_id)
        if hit is not None:
            return hit
        try:
            resolved = ResolvedSchema(self._local.get(schema_id))
        except SchemaNotFoundError:
            if self._remote is None:
                raise
            return self._remote.resolve(schema_id)
        self._local_hits[schema_id] = resolved
        return resolved
