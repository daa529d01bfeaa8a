"""Gates G1, G2, G5 as small units: resolution, identity fallbacks, PII field paths."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.model import Dataset, TopicMapping
from signal_factory.gates.identity import IdentityGate
from signal_factory.gates.pii import PiiGate, scan
from signal_factory.gates.resolution import ResolutionGate

TOPICS = {"raw.orders.events": TopicMapping("raw.orders.events", "urn:dp:orders:created", "orders-svc"),
          "raw.free": TopicMapping("raw.free", "urn:dp:free:events")}
DATASETS = {"urn:dp:orders:created": Dataset("urn:dp:orders:created", 1, "orders-team"),
            "urn:dp:free:events": Dataset("urn:dp:free:events", 3, "nobody")}
HINTS = ["metadata.producer_service", "producer_service"]


def test_g1_resolves_a_mapped_topic() -> None:
    """G1 maps a topic to its dataset URN and says so in details."""
    ds, gate = ResolutionGate(TOPICS, DATASETS).run("raw.orders.events")
    assert ds is not None
    assert ds.urn == "urn:dp:orders:created"
    assert (gate.result, gate.details) == ("PASS", {"dataset_urn": "urn:dp:orders:created"})


def test_g1_fails_an_unknown_topic() -> None:
    """G1 FAILs an unmapped topic with a reason code naming it."""
    ds, gate = ResolutionGate(TOPICS, DATASETS).run("raw.nope")
    assert ds is None
    assert (gate.result, gate.reason_code) == ("FAIL", "UNKNOWN_TOPIC:raw.nope")


@pytest.mark.parametrize(("topic", "headers", "value", "expected"), [
    ("raw.orders.events", {"x-obs-producer-service": "orders-svc", "x-obs-producer-version": "v3.17"}, None,
     ("orders-svc", "HIGH", "v3.17", "PASS")),
    ("raw.orders.events", {}, {"metadata": {"producer_version": "v3.16"}}, ("orders-svc", "MEDIUM", "v3.16", "PASS")),
    ("raw.free", {}, {"metadata": {"producer_service": "checkout"}}, ("checkout", "LOW", None, "PASS")),
    ("raw.free", {}, {"producer_service": "cart"}, ("cart", "LOW", None, "PASS")),
    ("raw.free", {}, {"other": 1}, ("UNKNOWN", "NONE", None, "WARN")),
    ("raw.free", {"x-obs-producer-service": "billing"}, {"producer_service": "cart"},
     ("billing", "HIGH", None, "PASS")),
])
def test_g2_identity_fallback_order(topic: str, headers: dict, value: object,
                                    expected: tuple[str, str, str | None, str]) -> None:
    """G2: header HIGH -> topic mapping MEDIUM -> payload hint LOW -> UNKNOWN NONE (WARN)."""
    producer, gate = IdentityGate(TOPICS, HINTS).run(topic, headers, value)
    assert (producer.id, producer.confidence, producer.version, gate.result) == expected


def test_g5_names_nested_field_paths_and_skips_classified_fields() -> None:
    """G5 reports dotted/array paths and ignores fields the contract classifies as PII."""
    payload = {"customer_email": "a.b@example.com", "notes": "ok",
               "shipping": {"instructions": "call +1 415 555 0100"},
               "items": [{"gift_note": "ssn 219-09-9999"}]}
    found = dict(scan(payload, frozenset({"customer_email"})))
    assert found == {"shipping.instructions": "PHONE", "items[].gift_note": "SSN"}


def test_g5_warn_mode_and_clean_pass() -> None:
    """G5 can be configured to WARN; clean payloads PASS with pii_detected false."""
    gate = PiiGate(on_detect="WARN")
    hit = gate.run({"notes": "mail me at x.y@example.org"}, None, frozenset())
    assert (hit.result, hit.reason_code) == ("WARN", "PII_DETECTED:notes:EMAIL")
    clean = gate.run({"notes": "leave at the door"}, None, frozenset())
    assert (clean.result, clean.details) == ("PASS", {"pii_detected": False})
