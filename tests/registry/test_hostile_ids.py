"""Hostile `x-obs-schema-id` values with a Confluent registry configured: FAIL evidence, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.errors import SchemaNotFoundError
from signal_factory.model.evidence import FAIL
from signal_factory.registry.cache import CachingSchemaResolver
from signal_factory.registry.chain import SchemaResolverChain
from signal_factory.registry.confluent import ConfluentSchemaRegistry, _path_for
from tests.conftest import envelope, order_payload, record
from tests.registry.conftest import FakeRegistry


@pytest.mark.parametrize("schema_id", ["confluent:\u00b2", "confluent:-1", "confluent:" + "9" * 40,
                                       "confluent:0", "confluent:s:\u00b2", "confluent:\u0661"])
def test_bad_confluent_ids_are_unknown_schema_not_a_crash(tmp_path: Path, registry_server: FakeRegistry,
                                                          control_plane: ControlPlane, schema_id: str) -> None:
    """With a registry configured, a hostile `x-obs-schema-id` is FAIL UNKNOWN_SCHEMA (it raised ValueError)."""
    remote = CachingSchemaResolver(ConfluentSchemaRegistry(registry_server.url, timeout_s=0.5),
                                   cache_dir=tmp_path / "cache", ttl_s=0.0, retry_after_s=0.0)
    enforcer = Enforcer(control_plane, SchemaResolverChain(control_plane.schemas, remote))
    headers = {"x-obs-schema-id": schema_id}
    batch = enforcer.process([record(envelope(order_payload()), headers=headers)])
    assert batch.evidence[0].validation.result == FAIL
    assert batch.evidence[0].validation.reason_codes[0].startswith("UNKNOWN_SCHEMA:")  # the id itself is guarded


@pytest.mark.parametrize("schema_id", ["confluent:\u00b2", "confluent:" + "1" * 11, "confluent:2147483648",
                                       "confluent:subject:\u00b3", "confluent:subject:0"])
def test_path_for_refuses_ids_the_registry_cannot_have(schema_id: str) -> None:
    """Only ASCII digits 1..2^31-1 make a registry path; the rest is SchemaNotFoundError."""
    with pytest.raises(SchemaNotFoundError):
        _path_for(schema_id)
    assert _path_for("confluent:2147483647") == ("/schemas/ids/2147483647", False)
