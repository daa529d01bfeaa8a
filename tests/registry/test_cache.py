"""CachingSchemaResolver in front of a real (local) Confluent-compatible registry."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from signal_factory.errors import RegistryUnavailableError, SchemaNotFoundError
from signal_factory.registry.base import AVRO, JSON, ResolvedSchema, SchemaDoc, SchemaSource
from signal_factory.registry.cache import CachingSchemaResolver, cache_file_name, is_mutable
from signal_factory.registry.confluent import ConfluentSchemaRegistry
from signal_factory.registry.local import LocalSchemaRegistry

if TYPE_CHECKING:
    from tests.registry.conftest import FakeRegistry

V1 = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]})
V2 = json.dumps({"type": "object", "required": ["id"]})


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _resolver(source: SchemaSource, clock: FakeClock, cache_dir: Path | None = None, *, ttl_s: float = 300.0,
              retry_after_s: float = 5.0, max_entries: int = 10_000) -> CachingSchemaResolver:
    return CachingSchemaResolver(source, cache_dir=cache_dir, clock=clock, ttl_s=ttl_s,
                                 retry_after_s=retry_after_s, max_entries=max_entries)


def test_second_resolve_does_not_hit_the_server(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock) -> None:
    """An immutable id is fetched once, then served from memory (fresh) forever."""
    registry_server.add("orders-value", V1)
    resolver = _resolver(confluent, clock)
    first = resolver.resolve("confluent:1")
    clock.now += 10_000_000
    second = resolver.resolve("confluent:1")
    assert first == second == ResolvedSchema(SchemaDoc("confluent:1", AVRO, V1))
    assert registry_server.requests == ["/schemas/ids/1"]


def test_pinned_subject_version_is_immutable(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock) -> None:
    """`<subject>:<int version>` is cached forever; only `:latest` is mutable."""
    registry_server.add("orders-value", V1)
    resolver = _resolver(confluent, clock, ttl_s=1.0)
    resolver.resolve("confluent:orders-value:1")
    clock.now += 3600
    resolver.resolve("confluent:orders-value:1")
    assert len(registry_server.requests) == 1
    assert is_mutable("confluent:orders-value:latest")
    assert not is_mutable("confluent:orders-value:1")
    assert not is_mutable("glue:orders.created:17")


def test_latest_is_refreshed_after_ttl(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock) -> None:
    """`:latest` is served from memory within ttl and refetched once ttl has passed."""
    registry_server.add("orders-value", V1)
    resolver = _resolver(confluent, clock, ttl_s=300.0)
    assert resolver.resolve("confluent:orders-value:latest").doc.version == 1
    registry_server.add("orders-value", V2, JSON)
    clock.now += 299
    assert resolver.resolve("confluent:orders-value:latest").doc.version == 1
    assert len(registry_server.requests) == 1
    clock.now += 2
    fresh = resolver.resolve("confluent:orders-value:latest")
    assert (fresh.doc.version, fresh.doc.text, fresh.stale) == (2, V2, False)
    assert len(registry_server.requests) == 2


def test_outage_after_success_serves_stale_lkg(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock) -> None:
    """When the registry goes down, an expired `:latest` is served from memory with stale=True."""
    registry_server.add("orders-value", V1)
    resolver = _resolver(confluent, clock, ttl_s=1.0)
    good = resolver.resolve("confluent:orders-value:latest").doc
    registry_server.stop()
    clock.now += 5
    assert resolver.resolve("confluent:orders-value:latest") == ResolvedSchema(good, stale=True)


def test_outage_without_lkg_raises(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                                   clock: FakeClock, tmp_path: Path) -> None:
    """With nothing in memory or on disk, an outage raises RegistryUnavailableError."""
    registry_server.stop()
    resolver = _resolver(confluent, clock, cache_dir=tmp_path)
    with pytest.raises(RegistryUnavailableError, match="unreachable"):
        resolver.resolve("confluent:1")
    with pytest.raises(RegistryUnavailableError, match="no cached copy"):
        resolver.resolve("confluent:1")  # within retry window: no probe, still no LKG


def test_lkg_survives_process_restart(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                                      clock: FakeClock, tmp_path: Path) -> None:
    """A doc fetched by one resolver is served stale by a new resolver on the same cache_dir."""
    registry_server.add("orders-value", V1)
    registry_server.add("orders-value", V2, JSON)
    ids = ["confluent:1", "confluent:orders-value:latest"]
    before = [_resolver(confluent, clock, cache_dir=tmp_path).resolve(i).doc for i in ids]
    registry_server.stop()
    restarted = _resolver(confluent, FakeClock(), cache_dir=tmp_path)
    assert [restarted.resolve(i) for i in ids] == [ResolvedSchema(d, stale=True) for d in before]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cache_file_name(i) for i in ids)


def test_registry_recovery_replaces_disk_lkg_with_fresh(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock,
        tmp_path: Path) -> None:
    """A disk LKG is only an outage fallback: once the registry answers, the doc is fresh again."""
    registry_server.add("orders-value", V1)
    _resolver(confluent, clock, cache_dir=tmp_path).resolve("confluent:1")
    registry_server.fail_status = 503
    restarted = _resolver(confluent, clock, cache_dir=tmp_path, retry_after_s=5.0)
    assert restarted.resolve("confluent:1").stale
    registry_server.fail_status = None
    clock.now += 5
    assert restarted.resolve("confluent:1") == ResolvedSchema(SchemaDoc("confluent:1", AVRO, V1))


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe", b"[]", b'{"schema_id": 1}',
                                     b'{"schema_id": "confluent:2", "schema_type": "AVRO", "text": "{}"}'])
def test_corrupt_cache_file_is_ignored(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                                       clock: FakeClock, tmp_path: Path, content: bytes) -> None:
    """An unreadable or foreign cache file is treated as absent, then overwritten by a fresh fetch."""
    registry_server.add("orders-value", V1)
    path = tmp_path / cache_file_name("confluent:1")
    path.write_bytes(content)
    registry_server.fail_status = 500
    with pytest.raises(RegistryUnavailableError):
        _resolver(confluent, clock, cache_dir=tmp_path).resolve("confluent:1")
    registry_server.fail_status = None
    assert not _resolver(confluent, clock, cache_dir=tmp_path).resolve("confluent:1").stale
    assert json.loads(path.read_bytes())["text"] == V1


def test_no_hammering_during_outage(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                                    clock: FakeClock) -> None:
    """While down, the registry is probed at most once per retry_after_s; LKG is served in between."""
    registry_server.add("orders-value", V1)
    resolver = _resolver(confluent, clock, ttl_s=1.0, retry_after_s=5.0)
    resolver.resolve("confluent:orders-value:latest")
    registry_server.fail_status = 500
    clock.now += 2
    for _ in range(50):
        assert resolver.resolve("confluent:orders-value:latest").stale
    with pytest.raises(RegistryUnavailableError, match="no cached copy"):
        resolver.resolve("confluent:orders-value:2")  # no LKG, inside the window: fail without a probe
    assert len(registry_server.requests) == 2  # the good fetch + one failed probe
    clock.now += 4.9
    resolver.resolve("confluent:orders-value:latest")
    assert len(registry_server.requests) == 2
    clock.now += 0.1
    for _ in range(20):
        resolver.resolve("confluent:orders-value:latest")
    assert len(registry_server.requests) == 3
    registry_server.fail_status = None
    clock.now += 5
    assert not resolver.resolve("confluent:orders-value:latest").stale
    assert len(registry_server.requests) == 4


def test_not_found_propagates(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                              clock: FakeClock, tmp_path: Path) -> None:
    """SchemaNotFoundError from the source reaches the caller and writes nothing to disk."""
    resolver = _resolver(confluent, clock, cache_dir=tmp_path)
    with pytest.raises(SchemaNotFoundError):
        resolver.resolve("confluent:42")
    assert list(tmp_path.iterdir()) == []


def test_memory_cache_is_bounded(clock: FakeClock) -> None:
    """Past max_entries the least recently used id is evicted and refetched on next use."""
    calls: list[str] = []

    class Counting(LocalSchemaRegistry):
        def get(self, schema_id: str) -> SchemaDoc:
            calls.append(schema_id)
            return super().get(schema_id)

    source = Counting({f"s:{i}": SchemaDoc(f"s:{i}", JSON, "{}") for i in range(3)})
    resolver = _resolver(source, clock, max_entries=2)
    for schema_id in ["s:0", "s:1", "s:0", "s:2", "s:0", "s:1"]:
        resolver.resolve(schema_id)
    assert calls == ["s:0", "s:1", "s:2", "s:1"]


def test_unwritable_cache_dir_does_not_break_resolve(
        registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry, clock: FakeClock,
        tmp_path: Path) -> None:
    """If the LKG cannot be written, the fresh doc is still returned."""
    registry_server.add("orders-value", V1)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    resolver = _resolver(confluent, clock, cache_dir=blocker / "cache")
    assert resolver.resolve("confluent:1").doc.text == V1


def test_concurrent_resolves(registry_server: FakeRegistry, confluent: ConfluentSchemaRegistry,
                             tmp_path: Path) -> None:
    """Many threads resolving the same ids all get the doc and leave no temp files behind."""
    registry_server.add("orders-value", V1)
    registry_server.add("orders-value", V2, JSON)
    resolver = CachingSchemaResolver(confluent, cache_dir=tmp_path)
    results: list[str] = []

    def work() -> None:
        for schema_id in ("confluent:1", "confluent:2", "confluent:orders-value:latest"):
            results.append(resolver.resolve(schema_id).doc.text)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted([V1, V2, V2] * 8)
    assert all(not p.name.startswith(".tmp-") for p in tmp_path.iterdir())
