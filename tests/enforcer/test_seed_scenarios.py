"""The seed's scenarios, record by record, through the real enforcer and example control plane."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import msgspec
import pytest

from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import encode_evidence, evidence_to_dict
from signal_factory.sources.jsonlines import read_lines
from tests.conftest import DATA, EXAMPLE, envelope, order_payload, record

EVIDENCE_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src/signal_factory/model/evidence-2.schema.json").read_text())


def _without_ids_and_times(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("evidence_id")
    doc.pop("timestamp")
    doc["source"].pop("timestamp", None)  # record event time: ours adds it, the seed's example has none
    return doc


def test_scenario1_record_gives_the_seed_step2_evidence(enforcer: Enforcer) -> None:
    """Scenario 1 Step 1's Kafka record yields Step 2's evidence in every field but ids and timestamps."""
    records = list(read_lines((EXAMPLE / "records/scenario1-record.jsonl").read_bytes().splitlines(), "s1"))
    batch = enforcer.process(records)
    assert len(batch.evidence) == 1
    ours = evidence_to_dict(batch.evidence[0])
    seed = json.loads((DATA / "seed_scenario1_step2_evidence.json").read_text())
    assert _without_ids_and_times(ours) == _without_ids_and_times(seed)
    assert ours["source"]["timestamp"] == "2024-01-15T09:58:02.127Z"
    assert list(ours) == list(seed)  # same key order as the seed
    jsonschema.validate(ours, EVIDENCE_SCHEMA)


def test_scenario2_flash_sale_is_a_warn_not_a_fail(enforcer: Enforcer) -> None:
    """Scenario 2: an unknown discount_type passes the stream with WARN UNKNOWN_ENUM:discount_type:FLASH_SALE."""
    value = envelope(order_payload(order_id="ORD-2024-0114-55555", customer_id="cust-12345",
                                   total_amount=99.99, discount_type="FLASH_SALE", created_at=None))
    ev = enforcer.process([record(value)]).evidence[0]
    assert ev.validation.result == "WARN"
    assert ev.validation.reason_codes == ["UNKNOWN_ENUM:discount_type:FLASH_SALE"]
    assert ev.validation.failed_gates == []
    g4 = ev.validation.gates[3]
    assert (g4.gate, g4.result, g4.reason_code) == ("G4_CONTRACT", "WARN", "UNKNOWN_ENUM:discount_type:FLASH_SALE")
    assert g4.details is not None
    assert g4.details["violated_rule"]["expected"] == ["NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON"]


def test_legacy_bare_record_resolves_identity_medium_by_topic_mapping(full_enforcer: Enforcer) -> None:
    """A legacy record with no headers is attributed to the topic's mapped producer, confidence MEDIUM."""
    ev = full_enforcer.process([record({"sku": "WIDGET-001", "warehouse": "ams-1", "on_hand": 7},
                                  topic="raw.inventory.events", headers={})]).evidence[0]
    assert ev.producer is not None
    assert (ev.producer.id, ev.producer.confidence) == ("legacy-inventory-svc", "MEDIUM")
    g2 = ev.validation.gates[1]
    assert g2.result == "PASS"
    assert g2.details == {"producer": "legacy-inventory-svc", "confidence": "MEDIUM"}


def test_ssn_in_free_text_fails_and_the_value_appears_nowhere(enforcer: Enforcer) -> None:
    """An SSN in `notes` is FAIL PII_DETECTED:notes:SSN, and the SSN is absent from the encoded evidence."""
    ssn = "219-09-9999"
    ev = enforcer.process([record(envelope(order_payload(notes=f"my ssn is {ssn}, call me")))]).evidence[0]
    assert ev.validation.result == "FAIL"
    assert "G5_PII" in ev.validation.failed_gates
    assert "PII_DETECTED:notes:SSN" in ev.validation.reason_codes
    encoded = encode_evidence(ev)
    assert ssn.encode() not in encoded
    assert b"219" not in encoded


@pytest.mark.parametrize(("line", "code"), [
    (b"this is not json", "MALFORMED_RECORD:json"),
    (b'{"partition": 1, "payload": "{}"}', "MALFORMED_RECORD:topic"),
    (b'{"topic": "raw.orders.events", "offset": "x", "payload": "{}"}', "MALFORMED_RECORD:offset"),
    (b'{"topic": "raw.orders.events", "ts": "yesterday", "payload": "{}"}', "MALFORMED_RECORD:timestamp"),
    (b'[1, 2, 3]', "MALFORMED_RECORD:json"),
])
def test_malformed_lines_become_fail_evidence(enforcer: Enforcer, line: bytes, code: str) -> None:
    """A line that cannot be parsed becomes FAIL evidence with a precise reason code, not a crash or a drop."""
    batch = enforcer.process(list(read_lines([line], "bad.jsonl")))
    assert len(batch.evidence) == 1
    ev = batch.evidence[0]
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == [code]
    assert ev.source is not None
    assert ev.source.origin == "bad.jsonl:1"
    jsonschema.validate(msgspec.to_builtins(ev), EVIDENCE_SCHEMA)


def test_value_that_is_not_json_fails_g3_but_keeps_its_dataset(enforcer: Enforcer) -> None:
    """A known topic whose value is garbage is FAIL MALFORMED_PAYLOAD:json on the topic's dataset."""
    rec = record({}, offset=5)
    rec.value = b"{not json"
    ev = enforcer.process([rec]).evidence[0]
    assert ev.dataset_urn == "urn:dp:orders:created"
    assert ev.validation.reason_codes == ["MALFORMED_PAYLOAD:json"]
    assert [g.result for g in ev.validation.gates] == ["PASS", "PASS", "FAIL", "SKIP", "SKIP"]


def test_unknown_topic_is_fail_evidence_not_a_drop(enforcer: Enforcer) -> None:
    """A record on a topic with no mapping is FAIL UNKNOWN_TOPIC:<topic>, still scanned for PII."""
    ev = enforcer.process([record({"email": "jane.doe@example.com"}, topic="raw.mystery",
                                  headers={})]).evidence[0]
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes[0] == "UNKNOWN_TOPIC:raw.mystery"
    assert "PII_DETECTED:email:EMAIL" in ev.validation.reason_codes
    assert b"jane.doe" not in encode_evidence(ev)


def test_every_evidence_matches_the_seed_evidence_schema(enforcer: Enforcer) -> None:
    """PASS, WARN and FAIL evidence all validate against the seed's urn:schema:evidence:2 JSON Schema."""
    recs = [record(envelope(order_payload()), offset=1),
            record(envelope(order_payload(discount_type="FLASH_SALE")), offset=2),
            record(envelope(order_payload(customer_id=None)), offset=3),
            record({"x": 1}, topic="nope", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})]
    batch = enforcer.process(recs)
    assert [e.validation.result for e in batch.evidence] == ["PASS", "WARN", "FAIL", "FAIL"]
    for ev in batch.evidence:
        jsonschema.validate(msgspec.to_builtins(ev), EVIDENCE_SCHEMA)
    assert batch.evidence[3].otel is not None
    assert (batch.evidence[3].otel.span_id, batch.evidence[3].otel.trace_flags) == ("b" * 16, 1)
