"""G3 through the whole enforcer against a real HTTP registry: wire format, outages, unknown ids."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import fastavro
import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.records import RawRecord
from signal_factory.registry.cache import CachingSchemaResolver
from signal_factory.registry.chain import SchemaResolverChain
from signal_factory.registry.confluent import ConfluentSchemaRegistry
from tests.registry.conftest import FakeRegistry

PAYMENT_SCHEMA = {"type": "object", "required": ["payment_id", "amount"],
                  "properties": {"payment_id": {"type": "string"}, "amount": {"type": "number"}}}
AVRO_SCHEMA = {"type": "record", "name": "Shipment", "fields": [
    {"name": "shipment_id", "type": "string"}, {"name": "weight_kg", "type": "double"}]}


def _config(tmp_path: Path, url: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "signal-factory.yaml").write_text(f"schema_registry: {{url: '{url}', timeout_s: 0.5}}\n")
    (tmp_path / "datasets.yaml").write_text(
        "datasets:\n"
        "  - {urn: 'urn:dp:payments:captured', tier: 1, owner: payments, schema: 'confluent:payments-value:latest'}\n"
        "  - {urn: 'urn:dp:shipping:shipped', tier: 1, owner: shipping}\n")
    (tmp_path / "topics.yaml").write_text(
        "topics:\n  - {topic: payments, dataset: 'urn:dp:payments:captured', producer: payments-svc}\n"
        "  - {topic: shipments, dataset: 'urn:dp:shipping:shipped', producer: shipping-svc}\n")
    return tmp_path


def _enforcer(cfg: Path, url: str, cache: Path) -> Enforcer:
    cp = load_control_plane(cfg)
    remote = CachingSchemaResolver(ConfluentSchemaRegistry(url, timeout_s=0.5), cache_dir=cache, ttl_s=0.0,
                                   retry_after_s=0.0)
    return Enforcer(cp, SchemaResolverChain(cp.schemas, remote))


def _json_record(value: dict, offset: int = 0, wire_id: int | None = None) -> RawRecord:
    body = json.dumps(value).encode()
    if wire_id is not None:
        body = b"\x00" + struct.pack(">I", wire_id) + body
    return RawRecord(topic="payments", partition=0, offset=offset, timestamp_ms=1705312682127, value=body)


@pytest.fixture
def setup(tmp_path: Path, registry_server: FakeRegistry) -> tuple[Enforcer, FakeRegistry, int]:
    schema_id, _ = registry_server.add("payments-value", json.dumps(PAYMENT_SCHEMA), "JSON")
    cfg = _config(tmp_path / "cfg", registry_server.url)
    return _enforcer(cfg, registry_server.url, tmp_path / "cache"), registry_server, schema_id


def test_default_latest_schema_validates_and_fails_bad_shapes(setup: tuple[Enforcer, FakeRegistry, int]) -> None:
    """The dataset's `:latest` schema from the registry passes good records and FAILs a missing field."""
    enforcer, _, _ = setup
    good, bad = enforcer.process([_json_record({"payment_id": "p1", "amount": 3.5}, 1),
                                  _json_record({"payment_id": "p2"}, 2)]).evidence
    assert good.validation.gates[2].result == "PASS"
    assert bad.validation.result == "FAIL"
    assert bad.validation.reason_codes == ["MISSING_FIELD:amount"]


def test_confluent_wire_format_json_is_recognised(setup: tuple[Enforcer, FakeRegistry, int]) -> None:
    """A value framed as magic byte + 4-byte schema id is decoded and checked against that id's schema."""
    enforcer, _, schema_id = setup
    ev = enforcer.process([_json_record({"payment_id": "p1", "amount": 1}, 3, wire_id=schema_id)]).evidence[0]
    assert ev.validation.gates[2].details == {"schema_id": f"confluent:{schema_id}"}
    assert ev.validation.result == "PASS"


def test_confluent_wire_format_avro_is_decoded(tmp_path: Path, registry_server: FakeRegistry) -> None:
    """An Avro wire-format value is decoded with the registry's schema; garbage bytes FAIL MALFORMED_PAYLOAD."""
    avro_id, _ = registry_server.add("shipments-value", json.dumps(AVRO_SCHEMA), "AVRO")
    enforcer = _enforcer(_config(tmp_path / "cfg", registry_server.url), registry_server.url, tmp_path / "c")
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(AVRO_SCHEMA), {"shipment_id": "S1", "weight_kg": 2.5})
    frame = b"\x00" + struct.pack(">I", avro_id) + buf.getvalue()
    ok = RawRecord(topic="shipments", partition=0, offset=1, value=frame)
    junk = RawRecord(topic="shipments", partition=0, offset=2, value=b"\x00" + struct.pack(">I", avro_id) + b"\xff")
    good, bad = enforcer.process([ok, junk]).evidence
    assert good.validation.result == "PASS"
    assert bad.validation.reason_codes == ["MALFORMED_PAYLOAD:avro"]


def test_registry_outage_is_warn_registry_stale_never_fail(setup: tuple[Enforcer, FakeRegistry, int]) -> None:
    """With the registry down, records are checked against the last-known-good schema and WARN, never FAIL."""
    enforcer, server, _ = setup
    enforcer.process([_json_record({"payment_id": "p0", "amount": 1}, 0)])  # warm the cache
    server.stop()
    good, bad = enforcer.process([_json_record({"payment_id": "p1", "amount": 1}, 1),
                                  _json_record({"payment_id": "p2"}, 2)]).evidence
    for ev in (good, bad):
        assert ev.validation.result == "WARN"
        assert ev.validation.reason_codes == ["REGISTRY_STALE"]
    assert bad.validation.gates[2].details is not None
    assert bad.validation.gates[2].details["would_fail"] == "MISSING_FIELD:amount"


def test_registry_outage_without_any_copy_is_warn_and_unvalidated(tmp_path: Path,
                                                                  registry_server: FakeRegistry) -> None:
    """A cold start with the registry down yields WARN REGISTRY_STALE (not validated), not a crash."""
    registry_server.add("payments-value", json.dumps(PAYMENT_SCHEMA), "JSON")
    enforcer = _enforcer(_config(tmp_path / "cfg", registry_server.url), registry_server.url, tmp_path / "c")
    registry_server.stop()
    ev = enforcer.process([_json_record({"payment_id": "p1", "amount": 1})]).evidence[0]
    assert ev.validation.result == "WARN"
    assert ev.validation.gates[2].details is not None
    assert ev.validation.gates[2].details["validated"] is False


def test_unknown_schema_id_is_a_fail(setup: tuple[Enforcer, FakeRegistry, int]) -> None:
    """A record whose wire-format id the registry does not know is FAIL UNKNOWN_SCHEMA."""
    enforcer, _, _ = setup
    ev = enforcer.process([_json_record({"payment_id": "p1", "amount": 1}, wire_id=999)]).evidence[0]
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == ["UNKNOWN_SCHEMA:confluent:999"]
