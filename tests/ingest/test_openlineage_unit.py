"""OpenLineage ingest without a server: parsing, facets, mapping, and the effects on a memory store."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph import model as g
from signal_factory.ingest.openlineage import facets
from signal_factory.ingest.openlineage.mapping import DatasetMapping, DatasetRule, load_mapping
from signal_factory.ingest.openlineage.model import OpenLineageEventError, event_from_obj, parse_body, parse_run_event
from signal_factory.ingest.openlineage.runs import run_repo
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from tests.conftest import EXAMPLE

SCENARIO2 = EXAMPLE / "scenario2" / "openlineage.jsonl"


def _events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SCENARIO2.read_text().splitlines()]


@pytest.fixture
def lineage() -> LineageIngest:
    cp = load_control_plane(EXAMPLE)
    return LineageIngest(ReplayService(cp, MemoryStore(), Enforcer(cp)), load_mapping(EXAMPLE))


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not JSON"),
    (b"", 400, "empty"),
    (b'{"eventType": "START", "eventTime": "2024-01-15T02:00:05Z", "run": {}, "job": {"namespace": "a", "name": "b"}}',
     422, "missing required field `runId`"),
    (b'{"eventType": "BEGIN", "eventTime": "2024-01-15T02:00:05Z", "run": {"runId": "r"},'
     b' "job": {"namespace": "a", "name": "b"}}', 422, "eventType 'BEGIN'"),
    (b'{"eventType": "START", "eventTime": "yesterday", "run": {"runId": "r"}, "job": {"namespace": "a", "name": "b"}}',
     422, "not an ISO-8601 time"),
    (b'{"eventType": "START", "eventTime": "2024-01-15T02:00:05Z", "run": {"runId": "r"}, "job": {"name": "b"}}',
     422, "`namespace`"),
    (b"[1]", 422, "expected a RunEvent JSON object"),
])
def test_malformed_events_are_typed_errors_with_a_reason(body: bytes, status: int, message: str) -> None:
    """Malformed bodies raise OpenLineageEventError with the HTTP status and a reason naming the problem."""
    with pytest.raises(OpenLineageEventError, match=message) as info:
        parse_body(body)
    assert info.value.status == status


def test_unknown_facets_and_fields_are_kept() -> None:
    """Lenient: unknown top-level keys and custom facets do not fail the parse; facets stay readable."""
    doc = _events()[2]
    doc["unexpected"] = {"x": 1}
    doc["run"]["facets"]["vendor_custom"] = {"_producer": "x", "anything": [1, 2]}
    event = event_from_obj(doc)
    assert event.run.facets["vendor_custom"]["anything"] == [1, 2]


def test_body_forms_single_array_and_lines() -> None:
    """A body is one event, a JSON array, or JSON lines."""
    lines = SCENARIO2.read_bytes()
    assert len(parse_body(lines)) == 3
    assert len(parse_body(json.dumps(_events()).encode())) == 3
    assert parse_body(json.dumps(_events()[0], indent=2).encode())[0].run_id == "kafka-consumer-run-20240114-143001"


def test_both_observability_facet_names_give_the_same_summary() -> None:
    """`observability_evidence.summary` (Scenario 2) and `observability.evidence_summary` (seed 2.2) both read."""
    new = _events()[2]
    old = copy.deepcopy(new)
    facet = old["run"]["facets"].pop("observability_evidence")
    sigs = [{"reason": s["reason_code"], "count": s["count"]} for s in facet["summary"]["failure_signatures"]]
    old["run"]["facets"]["observability"] = {"evidence_summary": {**facet["summary"], "failure_signatures": sigs}}
    a, b = facets.observability(event_from_obj(new)), facets.observability(event_from_obj(old))
    assert a is not None
    assert b is not None
    assert (a.records_processed, a.records_passed, a.records_failed) == (45230, 44850, 380)
    assert (b.records_processed, b.failure_signatures) == (a.records_processed, a.failure_signatures)
    assert (a.facet, b.facet) == ("observability_evidence", "observability")


def test_column_lineage_in_spec_and_seed_forms() -> None:
    """`columnLineage.fields` as the spec's object keyed by column, or the seed's list, normalise alike."""
    seed = event_from_obj(_events()[2]).outputs[0]
    spec_doc = _events()[2]
    spec_doc["outputs"][0]["outputFacets"]["columnLineage"]["fields"] = {"discount_type": {
        "inputFields": [{"namespace": "s3://data-lake-prod", "name": "bronze/orders/2024-01-14/",
                         "field": "discount_type"}],
        "transformationDescription": "Direct passthrough with enum validation"}}
    assert facets.column_lineage(seed) == facets.column_lineage(event_from_obj(spec_doc).outputs[0])
    assert facets.column_lineage(seed)[0]["inputFields"][0]["field"] == "discount_type"


def test_mapping_exact_glob_and_derived_keys(tmp_path: Path) -> None:
    """Rules match exactly or by glob (trailing / ignored); unmapped datasets get `ol:<namespace>/<name>`."""
    m = DatasetMapping([DatasetRule("s3://lake", "bronze/orders/*", "urn:dp:orders:bronze"),
                        DatasetRule("delta://uc", "sales.orders_silver", "urn:dp:orders:silver")])
    assert m.key("s3://lake", "bronze/orders/2024-01-14/") == "urn:dp:orders:bronze"
    assert m.key("delta://uc", "sales.orders_silver") == "urn:dp:orders:silver"
    assert m.key("delta://uc", "sales.other") == "ol:delta://uc/sales.other"
    assert load_mapping(tmp_path).rules == []


def test_scenario2_events_give_lineage_run_state_and_dq_ok(lineage: LineageIngest) -> None:
    """Seed Steps 2, 3, 5: FEEDS bronze->silver (BATCH), DAGRun EXECUTED JobRun, DQ_BREACH OK at 0.9916."""
    results = [lineage.ingest(e) for e in parse_body(SCENARIO2.read_bytes())]
    store = lineage.replay.store
    signals = [store.signals.get(s) for r in results for s in r.signals]
    dq = [s for s in signals if s is not None and s.signal_type == "DQ_BREACH"]
    assert [(s.dataset_urn, s.state, s.metrics["compliance_rate"]) for s in dq] == [("urn:dp:orders:silver", "OK",
                                                                                     0.9916)]
    edges = {(e.src, e.type, e.dst): e.props for e in store.graph.iter_edges()}
    feeds = edges[("Dataset:urn:dp:orders:bronze", g.FEEDS, "Dataset:urn:dp:orders:silver")]
    assert feeds["type"] == "BATCH"
    assert edges[("Dataset:urn:dp:orders:created", g.FEEDS, "Dataset:urn:dp:orders:bronze")]["type"] == "STREAM"
    run = "spark-orders-silver-20240115-020005"
    assert ("DAGRun:scheduled__2024-01-15T02:00:00+00:00", g.EXECUTED, f"JobRun:{run}") in edges
    wrote = edges[(f"JobRun:{run}", g.WROTE_TO, "Dataset:urn:dp:orders:silver")]
    assert wrote["column_lineage"][0]["name"] == "discount_type"
    record = run_repo(store).get(run)
    assert record is not None
    assert (record.state, record.started_at, record.ended_at) == ("COMPLETE", "2024-01-15T02:00:05.000Z",
                                                                  "2024-01-15T02:08:45.000Z")
    assert [e.event_type for e in record.events] == ["START", "COMPLETE"]
    assert record.totals is not None
    assert record.totals["duration_s"] == 520.0


def test_the_same_event_twice_is_counted_once(lineage: LineageIngest) -> None:
    """Replaying an already stored event (same run, type, time) is acknowledged and skipped."""
    event = parse_run_event(SCENARIO2.read_bytes().splitlines()[2])
    first, second = lineage.ingest(event), lineage.ingest(event)
    assert first.signals
    assert not first.duplicate
    assert second.duplicate
    assert not second.signals


def test_unmapped_datasets_get_derived_nodes(lineage: LineageIngest) -> None:
    """A dataset no lineage.yaml rule maps is still a Dataset node, keyed `ol:<namespace>/<name>`."""
    doc = _events()[1]
    doc["outputs"] = [{"namespace": "delta://unity-catalog", "name": "sales.unknown"}]
    lineage.ingest(event_from_obj(doc))
    node = lineage.replay.store.graph.node("Dataset:ol:delta://unity-catalog/sales.unknown")
    assert node is not None
    assert node.props["source"] == "openlineage"
