"""The guard at the other inflows: OpenLineage events, posted evidence, S3 keys and deployment markers keep
legitimate names readable and turn anything that could be PII into a stable stand-in, within caps."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer import inflows
from signal_factory.enforcer.inflows import MAX_DEPTH, guard_evidence, guard_tree
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.deployments import load_markers, parse_marker
from signal_factory.ingest.openlineage.model import encode_event, parse_run_event
from signal_factory.model.evidence import Evidence, Otel, Validation, decode_evidence, encode_evidence
from signal_factory.model.stream import CausalStep, CorrelationChain, CorrelationLink, StreamFacet, Window
from signal_factory.privacy.guard import MAX_TEXT, safe_code, safe_text
from signal_factory.runtime.replay import load_records
from signal_factory.sources.jsonlines import parse_line
from tests.conftest import EXAMPLE
from tests.enforcer.leak_corpus import corpus_lines
from tests.enforcer.leak_outputs import control_plane_dir

STAND_IN = re.compile(r"redacted-[A-Z_]+-[b-df-hj-np-tv]{8}")

READABLE = ["s3://data-lake-prod", "bronze/orders/2024-01-14/", "spark-orders-silver-20240115-020005",
            "scheduled__2024-01-15T02:00:00+00:00", "kafka-consumer-run-2024-01-14T15:30:01.000Z",
            "0190c2a1-5f3b-7d2e-8a4c-123456789012", "landing/orders/2024/01/15/batch 1.jsonl",
            "Direct passthrough with enum validation", "https://github.com/your-org/signal-factory",
            "urn:dp:orders:silver", "ORD-2024-0114-00000", "v3.17"]
HOSTILE = [("108-18-1008", "SSN"), ("raw.108181008", "DIGITS"), ("4000 3167 8901 2343", "CREDIT_CARD"),
           ("job.4000.3167.8901.2343", "DIGITS"), ("x jane.doe@example.com", "EMAIL"),
           ("raw.jane.doe@example.com", "EMAIL"), ("DE89 3704 0044 0532 0130 00", "IBAN"),
           ("call (415) 555-2671", "PHONE"), ("in/4155552671/", "DIGITS"), ("a\x1b[31mb", "TEXT")]


@pytest.mark.parametrize("value", READABLE)
def test_legitimate_names_stay_readable(value: str) -> None:
    """Dates, times, UUIDs, URIs and prose are written as they are."""
    assert safe_text(value) == value


@pytest.mark.parametrize(("value", "kind"), HOSTILE)
def test_pii_in_a_name_becomes_a_typed_stand_in(value: str, kind: str) -> None:
    """A detected type, too many digits in one written number, or a control character -> a stand-in."""
    out = safe_text(value)
    assert STAND_IN.fullmatch(out)
    assert out.startswith(f"redacted-{kind}-")
    assert safe_text(value) == out
    assert safe_text(out) == out


def test_text_over_the_cap_is_one_stand_in() -> None:
    """A 1 MB errorMessage is a short stand-in, not 1 MB of stored text."""
    assert safe_text("x" * 1_000_000, limit=MAX_TEXT).startswith("redacted-TEXT-")


def test_codes_keep_kind_and_field() -> None:
    """A failure signature keeps its kind and field, so it still groups; PII split over parts is caught."""
    assert safe_code("UNKNOWN_ENUM:discount_type:FLASH_SALE") == "UNKNOWN_ENUM:discount_type:FLASH_SALE"
    assert safe_code("UNKNOWN_ENUM:discount_type:108-18-1008").startswith("UNKNOWN_ENUM:discount_type:redacted-SSN-")
    assert safe_code("PII_DETECTED:extra.108-18-1008:SSN").startswith("PII_DETECTED:extra.redacted-SSN-")
    assert safe_code("X:108:18:1008").startswith("X:redacted-DIGITS-")
    assert safe_code("a b:c").startswith("redacted-TEXT-")


def test_scenario2_openlineage_events_are_unchanged() -> None:
    """The seed's Scenario 2 RunEvents come out of the guard exactly as they went in."""
    for raw in (EXAMPLE / "scenario2/openlineage.jsonl").read_bytes().splitlines():
        assert msgspec.json.decode(encode_event(parse_run_event(raw))) == msgspec.json.decode(raw)


def test_openlineage_names_and_facets_are_guarded() -> None:
    """Job, run, dataset and parent names, errorMessage and failure signatures with PII become stand-ins."""
    doc = {"eventType": "FAIL", "eventTime": "2024-01-15T02:08:45.000Z",
           "run": {"runId": "run-108-18-1008", "facets": {
               "parent": {"job": {"namespace": "airflow", "name": "dag"}, "run": {"runId": "4155552671"}},
               "errorMessage": {"message": "no card 4000 3167 8901 2343", "programmingLanguage": "python"},
               "observability_evidence": {"summary": {"failure_signatures": [
                   {"reason_code": "UNKNOWN_ENUM:discount_type:jane@example.com", "count": 3}]}},
               "deep": _nested(MAX_DEPTH + 5)}},
           "job": {"namespace": "spark", "name": "job-jane@example.com"},
           "outputs": [{"namespace": "delta://DE89370400440532013000", "name": "sales.orders_silver"}]}
    event = parse_run_event(msgspec.json.encode(doc))
    assert event.run_id.startswith("redacted-DIGITS-")
    assert event.job.name.startswith("redacted-EMAIL-")
    assert event.outputs[0].namespace.startswith("redacted-IBAN-")
    assert event.outputs[0].name == "sales.orders_silver"
    facets = event.run.facets
    assert facets["parent"]["run"]["runId"].startswith("redacted-DIGITS-")
    assert facets["errorMessage"]["message"].startswith("redacted-CREDIT_CARD-")
    assert facets["errorMessage"]["programmingLanguage"] == "python"
    (sig,) = facets["observability_evidence"]["summary"]["failure_signatures"]
    assert sig["reason_code"].startswith("UNKNOWN_ENUM:discount_type:redacted-EMAIL-")
    assert "<omitted:too-deep>" in encode_event(event).decode()


def _nested(depth: int) -> object:
    node: object = "leaf"
    for _ in range(depth):
        node = {"k": node}
    return node


def test_enforcer_evidence_is_unchanged_by_the_evidence_guard(control_plane: ControlPlane) -> None:
    """Our own evidence is already guarded: the guard of the evidence topic leaves it byte for byte."""
    records, _ = load_records([EXAMPLE / "records/scenario1-record.jsonl", EXAMPLE / "records/bad-input.jsonl",
                               EXAMPLE / "scenario1/traffic.jsonl"])
    batch = Enforcer(control_plane).process(records).evidence
    assert batch
    for ev in batch:
        assert encode_evidence(guard_evidence(ev)) == encode_evidence(ev)


def test_hostile_evidence_of_the_enforcer_is_unchanged_too(tmp_path: Path) -> None:
    """The leak corpus's evidence (every channel hostile, payload copies kept) is a fixed point of the guard."""
    cp = load_control_plane(control_plane_dir(tmp_path, "all"))
    records = [parse_line(line, f"corpus:{n}") for n, line in enumerate(corpus_lines(True).splitlines(), 1)]
    for ev in Enforcer(cp).process(records).evidence:
        assert encode_evidence(guard_evidence(ev)) == encode_evidence(ev)


def test_guarded_evidence_comes_back_as_the_same_object(control_plane: ControlPlane) -> None:
    """Evidence our enforcer made passes the guard without a copy, again and again (the memo holds)."""
    records, _ = load_records([EXAMPLE / "scenario1/traffic.jsonl"])
    batch = [decode_evidence(encode_evidence(ev)) for ev in Enforcer(control_plane).process(records).evidence]
    assert all(guard_evidence(ev) is ev for ev in batch)
    assert all(guard_evidence(ev) is ev for ev in batch)


def test_the_memo_trusts_content_not_claims(control_plane: ControlPlane) -> None:
    """A copy of our evidence with PII only in its validation (same id, producer, source) is guarded, every
    time it is seen; the memo of unchanged validations stays bounded under a flood of distinct ones."""
    records, _ = load_records([EXAMPLE / "records/scenario1-record.jsonl"])
    ours = Enforcer(control_plane).process(records).evidence[0]
    assert guard_evidence(ours) is ours
    doc = msgspec.json.decode(encode_evidence(ours))
    doc["validation"]["gates"][0]["details"]["note"] = "call 415-555-2671"
    doc["validation"]["reason_codes"].append("UNKNOWN_ENUM:discount_type:108-18-1008")
    forged = msgspec.json.encode(doc)
    for _ in range(2):
        text = encode_evidence(guard_evidence(decode_evidence(forged))).decode()
        assert "555-2671" not in text
        assert "108-18-1008" not in text
    for i in range(inflows.MEMO_ENTRIES + 50):
        doc["validation"] = {"result": "PASS", "gates": [], "failed_gates": [], "reason_codes": [f"CODE_{i}"]}
        ev = decode_evidence(msgspec.json.encode(doc))
        assert guard_evidence(ev).validation == ev.validation
    assert 0 < len(inflows._unchanged) <= inflows.MEMO_ENTRIES


def test_posted_evidence_is_guarded_and_capped() -> None:
    """Producer id/version, reason codes, details, source, lineage and payload of posted evidence are guarded;
    a non-hex trace id is dropped; details over the cap are replaced."""
    ev = decode_evidence(msgspec.json.encode({
        "evidence_id": "evd-108-18-1008", "timestamp": "2024-01-15T10:00:00.000Z",
        "dataset_urn": "urn:dp:orders:created",
        "producer": {"id": "jane@example.com", "confidence": "HIGH", "version": "4155552671"},
        "validation": {"result": "FAIL", "failed_gates": ["G4_CONTRACT"],
                       "reason_codes": ["UNKNOWN_ENUM:discount_type:108-18-1008"] * 2 + [f"C{i}" for i in range(99)],
                       "gates": [{"gate": "G4_CONTRACT", "result": "FAIL", "details": {"big": ["x" * 900] * 20}},
                                 {"gate": "G5_PII", "result": "FAIL", "details": {"108-18-1008": "ok 108181008"}}]},
        "source": {"topic": "raw.108181008", "input_dataset": "s3://b/4155552671/x.json"},
        "otel": {"trace_id": "108-18-1008"}, "lineage": {"dag_run_id": "jane@example.com"},
        "payload": {"note": "call 415-555-2671", "card": 4000316789012343}}))
    out = guard_evidence(ev)
    text = encode_evidence(out).decode()
    assert not re.search(r"108-18-1008|108181008|4155552671|jane@|4000316789012343", text)
    assert out.validation.reason_codes[0].startswith("UNKNOWN_ENUM:discount_type:redacted-SSN-")
    assert len(out.validation.reason_codes) == 32  # deduplicated, capped like the enforcer's
    assert out.validation.gates[0].details == {"omitted": "too-large", "bytes": pytest.approx(18_000, rel=0.1)}
    assert out.otel == Otel()
    assert out.evidence_id.startswith("evd-redacted-")
    assert guard_evidence(out) == out


def test_deployment_markers_are_guarded_and_the_seeds_unchanged() -> None:
    """The seed's markers load as they are; a hostile marker's service, version, commit, description do not."""
    raw = [msgspec.json.decode(line) for line in (EXAMPLE / "scenario1/deployments.jsonl").read_bytes().splitlines()
           if line.strip()]
    assert [msgspec.to_builtins(m) for m in load_markers(EXAMPLE / "scenario1/deployments.jsonl")] == raw
    m = parse_marker(b'{"service": "jane@example.com", "version": "2024.108181008", "at": "2024-01-15T09:57:45Z",'
                     b' "commit": "108-18-1008", "description": "hotfix for 4000 3167 8901 2343"}', "t:1")
    assert all(STAND_IN.fullmatch(v) for v in (m.service, m.version, m.commit, m.description))


def test_facet_trees_guard_keys_strings_and_card_numbers() -> None:
    """Key names, strings and cards sent as JSON numbers in a facet or detail tree."""
    out = guard_tree({"108-18-1008": 1, "rows": 45230, "bytes": 15234567, "card": 4000316789012343, "ok": "fine"})
    assert out["rows"] == 45230
    assert out["bytes"] == 15234567
    assert out["ok"] == "fine"
    assert out["card"] == "<redacted:CREDIT_CARD>"
    assert not any("108-18-1008" in k for k in out)


@pytest.mark.parametrize(("ref", "kept"), [
    ("sha256:" + "ab12" * 16, True),
    ("omitted:too-large", True),
    ("s3://sf-payloads/evidence/ab/" + "ab12" * 16 + ".json", True),
    ("s3://sf-payloads/123-45-6789/ab/" + "ab12" * 16 + ".json", False),  # PII in the location: guarded
    ("sha256:" + "0123456789" * 6, False),  # not a digest our stores write (60 digits)
    ("4155552671", False),
])
def test_payload_refs_our_stores_write_survive_the_guard(ref: str, kept: bool) -> None:
    """A payload_ref in the form our payload stores write is kept (so it reads back after the signals stage
    guards the evidence); anything else in that field is guarded like any text."""
    ev = decode_evidence(msgspec.json.encode({
        "evidence_id": "evd-01HM68X04F1MR3NDGX0S5GZ22Q", "timestamp": "2024-01-15T10:00:00.000Z",
        "dataset_urn": "urn:dp:orders:created",
        "validation": {"result": "FAIL", "gates": [], "failed_gates": [], "reason_codes": []},
        "payload_ref": ref}))
    got = guard_evidence(ev).payload_ref
    assert (got == ref) is kept
    assert got is not None
    assert kept or got.startswith("redacted-")


def test_stream_evidence_guard_is_idempotent_and_caps_the_chain() -> None:
    """Clean stream evidence (either chain shape) comes back as the same object; a chain longer than
    MAX_CHAIN_LINKS keeps its first steps; an SSN in a processor name or chain topic is replaced."""
    def ev(stream: StreamFacet, chain: object) -> Evidence:
        return Evidence(evidence_id="evd-01HQX7YMKP3QR5ST6VW8XYZ123", timestamp="2024-01-15T09:58:02.127Z",
                        dataset_urn="urn:dp:orders:enriched", validation=Validation("PASS", [], [], []),
                        stream=stream, correlation_chain=chain)  # type: ignore[arg-type]

    facet = StreamFacet(topology_id="enrichment-stream", processor_node="enrich", late_data=False,
                        window=Window(type="TUMBLING", start="2024-01-15T09:58:00.000Z",
                                      end="2024-01-15T09:59:00.000Z"))
    ours = [CorrelationLink(step=i, relation="DERIVED_FROM", evidence_id="evd-01HQX7YMKP3QR5ST6VW8XYZ124",
                            topic="raw.orders.events", partition=0, offset=i) for i in range(1, 4)]
    seed = CorrelationChain(root_trace_id="ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5", causal_chain=[
        CausalStep(step=1, source_evidence_id="evd-01HQX7YMKP3QR5ST6VW8XYZ124", relationship="AGGREGATED_WITH")])
    for chain in (ours, seed):
        clean = ev(facet, chain)
        assert guard_evidence(clean) is clean
    long = guard_evidence(ev(facet, [CorrelationLink(step=i, relation="AGGREGATED_WITH", offset=i)
                                     for i in range(1, inflows.MAX_CHAIN_LINKS + 50)]))
    assert isinstance(long.correlation_chain, list)
    assert [x.step for x in long.correlation_chain] == list(range(1, inflows.MAX_CHAIN_LINKS + 1))
    dirty = guard_evidence(ev(msgspec.structs.replace(facet, processor_node="node-123-45-6789"),
                              [CorrelationLink(step=1, relation="DERIVED_FROM", topic="t.123-45-6789")]))
    assert "123-45-6789" not in encode_evidence(dirty).decode()
