"""The one way to build the record path's `Enforcer`.

`enforce`, `replay`, the HTTP ingest, the S3 ingester and the Kafka enforcer stage all call
`build_enforcer`, so a record meets the same schemas (local files first, then the configured registry
behind its last-known-good cache), the same payload store and the same settings whichever way it came in.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.payloads.files import PayloadStore
from signal_factory.payloads.location import open_payload_store
from signal_factory.registry.cache import CachingSchemaResolver
from signal_factory.registry.chain import Resolver, SchemaResolverChain
from signal_factory.registry.confluent import ConfluentSchemaRegistry
from signal_factory.settings import Settings


def schema_resolver(cp: ControlPlane, settings: Settings) -> SchemaResolverChain:
    """Local schema files, then (when `schema_registry.url` is set) the registry behind the LKG cache in
    `<home>/schema-cache`."""
    remote: Resolver | None = None
    reg = cp.settings.schema_registry
    if reg.url:
        remote = CachingSchemaResolver(
            ConfluentSchemaRegistry(reg.url, timeout_s=reg.timeout_s, auth=settings.registry_auth()),
            cache_dir=settings.home / "schema-cache", ttl_s=reg.ttl_s)
    return SchemaResolverChain(cp.schemas, remote)


def build_enforcer(cp: ControlPlane, settings: Settings | None = None, *,
                   payload_store: PayloadStore | None = None,
                   clock: Callable[[], float] = time.time) -> Enforcer:
    """The enforcer every entry point uses: `settings` default to the environment (`Settings.from_env`),
    large payloads go to the store `settings.payload_store` names (`<home>/payloads` by default, or
    `s3://bucket/prefix`) unless another `payload_store` is given."""
    settings = settings or Settings.from_env()
    store = payload_store if payload_store is not None else open_payload_store(settings.payload_store, settings.home)
    return Enforcer(cp, schema_resolver(cp, settings), payload_store=store, clock=clock)
