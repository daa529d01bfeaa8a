"""Stream evidence over real HTTP: POST /api/v1/evidence keeps the `stream` facet and the correlation chain (ours and
the seed's 3.4 shape), GET shows them, the guard still applies, and the processor lands in the graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

ORDERS = "urn:dp:orders:created"
SSN = "123-45-6789"
EMAIL = "jane.doe@example.com"


@pytest.fixture
def writer(api_server_token: tuple[str, str]) -> Iterator[httpx.Client]:
    base, token = api_server_token
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def _id(n: int) -> str:
    return f"evd-01HQXSTREAM{n:015d}"


def _stream_evidence(source: dict[str, Any], n: int, chain: Any, topology: str = "enrichment-stream") -> dict[str, Any]:
    """A processor's evidence about the enforcer's failing record `source` (its FAIL verdict, its event time)."""
    return {
        "$schema": "urn:schema:stream-evidence:1", "evidence_id": _id(n), "timestamp": source["timestamp"],
        "dataset_urn": ORDERS, "producer": {"id": topology, "confidence": "HIGH", "version": "v2.4.0"},
        "validation": source["validation"],
        "source": {"timestamp_type": "CREATE_TIME", "timestamp": source["source"]["timestamp"]},
        "stream": {"topology_id": topology, "processor_node": "enrich",
                   "window": {"type": "TUMBLING", "start": "2024-01-15T09:58:00.000Z",
                              "end": "2024-01-15T09:59:00.000Z"},
                   "watermark": "2024-01-15T09:57:57.127Z", "processing_time": "2024-01-15T09:58:05.000Z",
                   "late_data": False},
        "correlation_chain": chain}


def test_posted_stream_evidence_keeps_facet_and_both_chain_shapes(writer: httpx.Client) -> None:
    """Our list of links and the seed's {root_trace_id, causal_chain} both come back from GET as posted."""
    (src,) = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 1}).json()
    s = src["source"]
    ours = [{"step": 1, "relation": "DERIVED_FROM", "evidence_id": src["evidence_id"], "topic": s["topic"],
             "partition": s["partition"], "offset": s["offset"]}]
    seed = {"root_trace_id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5", "causal_chain": [
        {"step": 1, "source_evidence_id": src["evidence_id"], "relationship": "DERIVED_FROM"},
        {"step": 2, "source_evidence_id": _id(1), "relationship": "AGGREGATED_WITH"}]}
    posted = [_stream_evidence(src, 1, ours), _stream_evidence(src, 2, seed)]
    r = writer.post("/api/v1/evidence", json=posted)
    assert r.status_code == 200, r.text
    assert r.json()["evidence"] == 2
    for sent in posted:
        got = writer.get(f"/api/v1/evidence/{sent['evidence_id']}").json()
        assert got["stream"] == sent["stream"]
        assert got["correlation_chain"] == sent["correlation_chain"]
        assert got["validation"]["reason_codes"] == src["validation"]["reason_codes"]


def test_guard_applies_to_the_facet_and_the_chain(writer: httpx.Client) -> None:
    """A topology named by an email, a chain topic holding an SSN: kept as stand-ins, never as the values."""
    (src,) = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 1}).json()
    chain = {"root_trace_id": EMAIL, "causal_chain": [
        {"step": 1, "source_evidence_id": src["evidence_id"], "relationship": "DERIVED_FROM",
         "topic": f"raw.{SSN}", "offset": 7}]}
    r = writer.post("/api/v1/evidence", json=[_stream_evidence(src, 3, chain, topology=EMAIL)])
    assert r.status_code == 200, r.text
    got = writer.get(f"/api/v1/evidence/{_id(3)}")
    text = got.text
    assert SSN not in text
    assert EMAIL not in text
    assert "jane.doe" not in text
    body = got.json()
    assert body["stream"]["processor_node"] == "enrich"
    step = body["correlation_chain"]["causal_chain"][0]
    assert (step["source_evidence_id"], step["offset"]) == (src["evidence_id"], 7)
    assert step["topic"] != f"raw.{SSN}"


def test_posted_stream_evidence_writes_the_processor_into_the_graph(writer: httpx.Client) -> None:
    """Processor -PART_OF-> Topology, -CONSUMES-> the source topic's dataset, -PRODUCES-> its evidence's dataset."""
    (src,) = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 1}).json()
    s = src["source"]
    chain = [{"step": 1, "relation": "DERIVED_FROM", "topic": s["topic"], "partition": s["partition"],
              "offset": s["offset"]}]
    assert writer.post("/api/v1/evidence", json=[_stream_evidence(src, 4, chain)]).status_code == 200
    r = writer.get("/api/v1/graph/nodes/Processor:enrichment-stream/enrich", params={"depth": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    (node,) = [n for n in body["nodes"] if n["id"] == "Processor:enrichment-stream/enrich"]
    assert node["props"]["version"] == "v2.4.0"
    edges = {(e["type"], e["dst"]) for e in body["edges"] if e["src"] == node["id"]}
    assert ("PART_OF", "Topology:enrichment-stream") in edges
    assert ("CONSUMES", f"Dataset:{ORDERS}") in edges
    assert ("PRODUCES", f"Dataset:{ORDERS}") in edges
