"""ConfluentSchemaRegistry against a real local HTTP server speaking the registry REST API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from signal_factory.errors import RegistryUnavailableError, SchemaNotFoundError
from signal_factory.registry.base import AVRO, JSON, PROTOBUF, SchemaDoc, SchemaSource
from signal_factory.registry.confluent import ConfluentSchemaRegistry

if TYPE_CHECKING:
    from tests.registry.conftest import FakeRegistry

AVRO_TEXT = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]})
JSON_TEXT = json.dumps({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]})


def test_is_a_schema_source(confluent: ConfluentSchemaRegistry) -> None:
    """The client satisfies the SchemaSource protocol the gate depends on."""
    source: SchemaSource = confluent
    assert callable(source.get)


def test_fetch_json_schema_by_id(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """`confluent:<id>` returns the JSON schema text with type JSON and no subject/version."""
    sid, _ = registry_server.add("orders-value", JSON_TEXT, JSON)
    doc = confluent.get(f"confluent:{sid}")
    assert doc == SchemaDoc(f"confluent:{sid}", JSON, JSON_TEXT)
    assert registry_server.requests == [f"/schemas/ids/{sid}"]


def test_fetch_avro_schema_by_id_without_schema_type(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """An answer without `schemaType` is an AVRO schema."""
    sid, _ = registry_server.add("orders-value", AVRO_TEXT)
    doc = confluent.get(f"confluent:{sid}")
    assert doc.schema_type == AVRO
    assert doc.text == AVRO_TEXT


def test_fetch_protobuf_type_is_passed_through(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """A PROTOBUF schemaType is reported as-is."""
    sid, _ = registry_server.add("p-value", 'syntax = "proto3"; message M {}', PROTOBUF)
    assert confluent.get(f"confluent:{sid}").schema_type == PROTOBUF


def test_fetch_by_subject_and_version(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """`confluent:<subject>:<version>` returns that version with subject and version filled in."""
    registry_server.add("orders-value", AVRO_TEXT)
    registry_server.add("orders-value", JSON_TEXT, JSON)
    doc = confluent.get("confluent:orders-value:1")
    assert doc == SchemaDoc("confluent:orders-value:1", AVRO, AVRO_TEXT, version=1, subject="orders-value")
    assert registry_server.requests == ["/subjects/orders-value/versions/1"]


def test_fetch_latest(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """`confluent:<subject>:latest` returns the newest version, keeping the requested id."""
    registry_server.add("orders-value", AVRO_TEXT)
    registry_server.add("orders-value", JSON_TEXT, JSON)
    doc = confluent.get("confluent:orders-value:latest")
    expected = SchemaDoc("confluent:orders-value:latest", JSON, JSON_TEXT, version=2, subject="orders-value")
    assert doc == expected


def test_subject_is_url_encoded(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry) -> None:
    """Subjects with `/`, spaces or `:` reach the registry intact (percent-encoded)."""
    registry_server.add("team/a orders:value", AVRO_TEXT)
    doc = confluent.get("confluent:team/a orders:value:1")
    assert doc.subject == "team/a orders:value"
    assert registry_server.requests == ["/subjects/team%2Fa%20orders%3Avalue/versions/1"]


@pytest.mark.parametrize("schema_id", ["confluent:99", "confluent:nope-value:1", "confluent:orders-value:7",
                                       "confluent:nope-value:latest"])
def test_not_found(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, schema_id: str) -> None:
    """Registry 404s (40403 schema, 40401 subject, 40402 version) raise SchemaNotFoundError."""
    registry_server.add("orders-value", AVRO_TEXT)
    with pytest.raises(SchemaNotFoundError, match="no schema"):
        confluent.get(schema_id)


@pytest.mark.parametrize("schema_id", ["glue:orders:1", "confluent:", "confluent:orders", "confluent:s:v1",
                                       "confluent::1"])
def test_malformed_id_is_not_found_without_a_request(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, schema_id: str) -> None:
    """Ids outside the confluent forms raise SchemaNotFoundError and never touch the network."""
    with pytest.raises(SchemaNotFoundError, match="not a confluent schema id"):
        confluent.get(schema_id)
    assert registry_server.requests == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_is_unavailable(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, status: int) -> None:
    """A 5xx answer raises RegistryUnavailableError naming the status."""
    registry_server.add("orders-value", AVRO_TEXT)
    registry_server.fail_status = status
    with pytest.raises(RegistryUnavailableError, match=f"HTTP {status}"):
        confluent.get("confluent:1")


def test_404_without_registry_error_code_is_unavailable(registry_server: FakeRegistry) -> None:
    """A bare 404 (wrong base url) is a setup problem, not a missing schema."""
    registry_server.add("orders-value", AVRO_TEXT)
    with ConfluentSchemaRegistry(registry_server.url + "/wrong-prefix") as client, \
            pytest.raises(RegistryUnavailableError, match="is the url right"):
        client.get("confluent:1")


def test_server_down_is_unavailable_and_hides_credentials(registry_server: FakeRegistry) -> None:
    """Connection refused raises RegistryUnavailableError whose message holds no credentials."""
    registry_server.stop()
    url = f"http://urluser:urlpass-42@127.0.0.1:{registry_server.port}"
    with ConfluentSchemaRegistry(url, auth=("alice", "s3cret-pw")) as client, \
            pytest.raises(RegistryUnavailableError) as info:
        client.get("confluent:1")
    message = str(info.value)
    assert "unreachable" in message
    for secret in ("urluser", "urlpass-42", "alice", "s3cret-pw"):
        assert secret not in message
    assert info.value.__cause__ is None


def test_timeout_is_unavailable(registry_server: FakeRegistry) -> None:
    """A registry slower than timeout_s raises RegistryUnavailableError."""
    registry_server.add("orders-value", AVRO_TEXT)
    registry_server.delay_s = 0.5
    with ConfluentSchemaRegistry(registry_server.url, timeout_s=0.1) as client, \
            pytest.raises(RegistryUnavailableError, match="timed out"):
        client.get("confluent:1")


def test_basic_auth_is_sent(registry_server: FakeRegistry) -> None:
    """`auth=(user, password)` is sent as HTTP basic auth."""
    registry_server.add("orders-value", AVRO_TEXT)
    with ConfluentSchemaRegistry(registry_server.url, auth=("alice", "s3cret-pw")) as client:
        client.get("confluent:1")
    expected = httpx.BasicAuth("alice", "s3cret-pw")._auth_header
    assert registry_server.auth_headers == [expected]


def test_injected_client_is_used_and_left_open(registry_server: FakeRegistry) -> None:
    """A caller-supplied httpx.Client is used for requests and not closed by close()."""
    registry_server.add("orders-value", AVRO_TEXT)
    with httpx.Client() as http:
        registry = ConfluentSchemaRegistry(registry_server.url + "/", client=http)
        assert registry.get("confluent:1").schema_type == AVRO
        registry.close()
        assert not http.is_closed
