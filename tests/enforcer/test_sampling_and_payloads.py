"""Tiered PASS sampling keeps counts exact; payloads in evidence are redacted and size-capped."""

from __future__ import annotations

import dataclasses

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import encode_evidence
from signal_factory.payloads.files import MemoryPayloadStore
from tests.conftest import envelope, order_payload, record


def _with_evidence(cp: ControlPlane, **changes: object) -> ControlPlane:
    evidence = msgspec.structs.replace(cp.settings.evidence, **changes)
    return dataclasses.replace(cp, settings=msgspec.structs.replace(cp.settings, evidence=evidence))


def _inventory(n: int, bad_every: int = 0) -> list:
    out = []
    for i in range(n):
        value = {"sku": f"SKU-{i}", "warehouse": "ams-1", "on_hand": 3}
        if bad_every and i % bad_every == 0:
            value["on_hand"] = "lots"  # schema type error -> FAIL
        out.append(record(value, topic="raw.inventory.events", headers={}, offset=i,
                          ts=1705312682127 + i * 1000))
    return out


def test_tier3_pass_evidence_is_sampled_but_counted_exactly(control_plane: ControlPlane) -> None:
    """Tier 3 keeps ~10% of PASS evidence; every FAIL is kept; kept + tallied == records in."""
    batch = Enforcer(control_plane).process(_inventory(2000, bad_every=50))
    fails = [e for e in batch.evidence if e.validation.result == "FAIL"]
    passes = [e for e in batch.evidence if e.validation.result == "PASS"]
    assert len(fails) == 40
    assert 100 <= len(passes) <= 300
    assert batch.count() == 2000
    assert sum(t.count for t in batch.tallies) == 2000 - 40 - len(passes)
    assert {t.dataset_urn for t in batch.tallies} == {"urn:dp:inventory:updated"}


def test_sampling_is_deterministic_across_replays(control_plane: ControlPlane) -> None:
    """Replaying the same records keeps the same PASS sample (sampling hashes record coordinates)."""
    first = Enforcer(control_plane).process(_inventory(500))
    second = Enforcer(control_plane).process(_inventory(500))
    assert [e.source.offset for e in first.evidence if e.source] == \
        [e.source.offset for e in second.evidence if e.source]


def test_failure_payloads_are_attached_with_pii_redacted(control_plane: ControlPlane) -> None:
    """payload: failures attaches the payload to FAIL evidence, with classified and detected PII removed."""
    cp = _with_evidence(control_plane, payload="failures")
    value = envelope(order_payload(customer_id=None, customer_email="jane@example.com",
                                   notes="card 4111 1111 1111 1111 please"))
    ok = envelope(order_payload())
    batch = Enforcer(cp).process([record(value, offset=1), record(ok, offset=2)])
    bad, good = batch.evidence
    assert bad.payload["payload"]["customer_email"] == "<redacted>"
    assert bad.payload["payload"]["notes"] == "<redacted:CREDIT_CARD>"
    assert bad.payload["payload"]["order_id"] == "ORD-2024-0115-99123"
    assert good.payload is None
    raw = encode_evidence(bad)
    assert b"jane@example.com" not in raw
    assert b"4111" not in raw


def test_large_payloads_are_stored_aside_and_referenced(control_plane: ControlPlane) -> None:
    """A payload over max_inline_payload_bytes is replaced by a payload_ref to the payload store."""
    cp = _with_evidence(control_plane, payload="all", max_inline_payload_bytes=64)
    store = MemoryPayloadStore()
    ev = Enforcer(cp, payload_store=store).process([record(envelope(order_payload()))]).evidence[0]
    assert ev.payload is None
    assert ev.payload_ref is not None
    assert ev.payload_ref.startswith("sha256:")
    assert b"ORD-2024-0115-99123" in store.get(ev.payload_ref)


def test_evidence_ids_are_deterministic_per_source_record(control_plane: ControlPlane) -> None:
    """The same record (same coordinates) gets the same evidence id on every run; others differ."""
    recs = [record(envelope(order_payload()), offset=i) for i in range(3)]
    first = [e.evidence_id for e in Enforcer(control_plane).process(recs).evidence]
    again = [e.evidence_id for e in Enforcer(control_plane).process(recs).evidence]
    assert first == again
    assert len(set(first)) == 3
    assert all(e.startswith("evd-01HM") for e in first)  # time part is the record's own timestamp
