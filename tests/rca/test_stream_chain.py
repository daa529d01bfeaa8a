"""RCA of a stream processor's failure: walked back along the correlation chain to the source record and its
producer's deploy (`rca/stream.py`), and the graph's Topology and Processor nodes it rests on."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from signal_factory.graph import model as gm
from signal_factory.model.evidence import FAIL, Evidence, Producer, Source, Validation
from signal_factory.model.incidents import Incident
from signal_factory.model.stream import CausalStep, CorrelationChain, CorrelationLink, StreamFacet
from signal_factory.rca.analyze import analyze
from signal_factory.rca.render import render_rich, stream_lines, to_markdown
from signal_factory.rca.report import DEPLOYMENT
from signal_factory.rca.stream import CONSUMED, MAX_HOPS, walk
from signal_factory.stores.memory import MemoryStore
from tests.rca.stream_world import CREATED, ENRICHED, World, build

SIG = "MISSING_FIELD:customer_id"


def _incident(w: World, urn: str) -> Incident:
    (inc,) = [i for i in w.store.incidents.list() if i.dataset_urn == urn and i.failure_signature == SIG]
    return inc


@pytest.fixture(scope="module")
def bad_deploy(tmp_path_factory: pytest.TempPathFactory) -> World:
    """orders-svc v3.17 (09:57:45) drops customer_id; enrichment-stream/enrich fails on every such record."""
    return build(tmp_path_factory.mktemp("bad-deploy"))


def test_processor_failure_names_the_producers_deploy_through_the_chain(bad_deploy: World) -> None:
    """The incident is on the processor's output, yet the cause named is orders-svc v3.17, found via the chain."""
    report = analyze(bad_deploy.store, incident_id=_incident(bad_deploy, ENRICHED).incident_id,
                     catalog=bad_deploy.cp.datasets)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.deployed_at) == (DEPLOYMENT, "orders-svc", "v3.17",
                                                                "2024-01-15T09:57:45.000Z")
    assert rc.dataset_urn == ENRICHED
    assert report.confidence.level == "HIGH"
    assert [h.role for h in report.stream_chain] == ["processor", "source_record", "deployment"]
    processor, source, deploy = report.stream_chain
    assert (processor.label, processor.dataset_urn, processor.reason_codes[0]) == (
        "enrichment-stream/enrich", ENRICHED, SIG)
    assert (source.relation, source.dataset_urn, source.producer, source.producer_version) == (
        "DERIVED_FROM", CREATED, "orders-svc", "v3.17")
    stored = bad_deploy.store.evidence.get(source.evidence_id or "")
    assert stored is not None
    assert stored.stream is None
    assert stored.source is not None
    assert source.label == f"raw.orders.events[0]@{stored.source.offset}"
    assert deploy.label == "orders-svc v3.17"
    assert report.evidence.producer == "orders-svc"
    assert report.evidence.producer_version == "v3.17"
    assert report.actions[0].startswith("Roll back orders-svc to v3.16")
    assert any(e.actor == "enrichment-stream/enrich" and e.event.startswith("First failure: " + SIG)
               for e in report.timeline)


def test_report_text_shows_processor_source_record_and_deploy(bad_deploy: World) -> None:
    """Statement, markdown and the terminal panel read processor -> source record -> deploy, in that order."""
    report = analyze(bad_deploy.store, incident_id=_incident(bad_deploy, ENRICHED).incident_id)
    statement = report.root_cause.statement
    at = [statement.index(s) for s in ("processor enrichment-stream/enrich (FAIL MISSING_FIELD:customer_id)",
                                       "→ source record raw.orders.events[0]@",
                                       "orders-svc v3.17) → deploy orders-svc v3.17 at 09:57:45 UTC")]
    assert at == sorted(at)
    lines = stream_lines(report)
    assert lines[0].startswith("processor enrichment-stream/enrich: FAIL MISSING_FIELD:customer_id on " + ENRICHED)
    assert lines[1].startswith("  <- DERIVED_FROM source record raw.orders.events[0]@")
    assert lines[2] == "    <- DEPLOYED deploy orders-svc v3.17 at 09:57:45 UTC"
    assert "## Stream chain" in to_markdown(report)
    assert [f.label for f in report.data_flow][:3] == ["orders-svc", "raw.orders.events", "enrichment-stream/enrich"]
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(render_rich(report))
    assert "STREAM CHAIN" in console.export_text()


def test_graph_has_topology_processor_and_its_datasets(bad_deploy: World) -> None:
    """Processor -PART_OF-> Topology, -CONSUMES-> the source dataset, -PRODUCES-> its own; a stream FEEDS edge."""
    graph = bad_deploy.store.graph
    pid = gm.node_id(gm.PROCESSOR, "enrichment-stream/enrich")
    nodes = graph.nodes_by_id([pid, gm.node_id(gm.TOPOLOGY, "enrichment-stream")])
    assert nodes[pid].props["version"] == "v2.4.0"
    assert nodes[gm.node_id(gm.TOPOLOGY, "enrichment-stream")].props["version"] == "v2.4.0"
    out = {(e.type, e.dst) for e in graph.edges_from([pid], None, "out")}
    assert out == {(gm.PART_OF, "Topology:enrichment-stream"), (gm.CONSUMES, f"Dataset:{CREATED}"),
                   (gm.PRODUCES, f"Dataset:{ENRICHED}")}
    feeds = [e for e in graph.edges_from([f"Dataset:{CREATED}"], [gm.FEEDS], "out") if e.dst == f"Dataset:{ENRICHED}"]
    assert [(e.props["type"], e.props["job"]) for e in feeds] == [("stream", "enrichment-stream/enrich")]


def test_no_producer_deploy_when_the_source_failure_began_before_it(tmp_path: Path) -> None:
    """customer_id was missing from 09:45, long before v3.17: that deploy did not start it, so it is not named."""
    w = build(tmp_path, bad_from="2024-01-15T09:44:00.000Z")
    report = analyze(w.store, incident_id=_incident(w, ENRICHED).incident_id)
    assert report.root_cause.version != "v3.17"
    assert [h.role for h in report.stream_chain][:2] == ["processor", "source_record"]
    assert all(h.label != "orders-svc v3.17" for h in report.stream_chain)
    assert all(a.verdict == "excluded" for a in report.alternatives if a.version == "v3.17")


def test_a_processor_bug_is_not_blamed_on_the_producer(tmp_path: Path) -> None:
    """Source records all PASS (the processor drops customer_id itself): the chain ends at a passing record and
    orders-svc's deploy, another service than the failing evidence's producer, is ruled out."""
    w = build(tmp_path, bad_from=None, processor_drops_after="2024-01-15T09:58:30.000Z")
    report = analyze(w.store, incident_id=_incident(w, ENRICHED).incident_id)
    assert report.root_cause.service != "orders-svc"
    _, source = report.stream_chain
    assert (source.role, source.result) == ("source_record", "PASS")
    assert any(a.service == "orders-svc" and a.verdict == "ruled_out" for a in report.alternatives)


def _ev(eid: str, urn: str, *, stream: StreamFacet | None = None, chain: object = None, offset: int | None = None,
        producer: str = "orders-svc") -> Evidence:
    return Evidence(evidence_id=eid, timestamp="2024-01-15T09:58:05.000Z", dataset_urn=urn,
                    producer=Producer(producer, "HIGH", "v3.17"),
                    validation=Validation(FAIL, [], [], [SIG]),
                    source=Source(topic="raw.orders.events" if offset is not None else None,
                                  partition=0 if offset is not None else None, offset=offset,
                                  timestamp="2024-01-15T09:58:02.000Z"),
                    stream=stream, correlation_chain=chain)  # type: ignore[arg-type]


def test_walk_follows_seed_shape_ids_then_the_root_nodes_consumed_record() -> None:
    """Seed 3.4 chain by evidence id to the first node, whose `source` coordinates lead to the enforcer's evidence."""
    store = MemoryStore()
    enforcer_ev = _ev("evd-src", CREATED, offset=41)
    first = _ev("evd-a", ENRICHED, stream=StreamFacet(topology_id="t", processor_node="validate"), offset=41,
                producer="t")
    other_node = _ev("evd-z", "urn:dp:x:y", stream=StreamFacet(topology_id="u", processor_node="n"), offset=41,
                     producer="u")
    last = _ev("evd-b", ENRICHED, stream=StreamFacet(topology_id="t", processor_node="enrich"), producer="t",
               chain=CorrelationChain(root_trace_id="ab" * 16, causal_chain=[
                   CausalStep(step=1, source_evidence_id="evd-a", relationship="DERIVED_FROM")]))
    store.evidence.add_many([enforcer_ev, first, other_node, last])
    facts = walk(store.evidence, last, SIG)
    assert [e.evidence_id for e in facts.path] == ["evd-b", "evd-a", "evd-src"]
    assert facts.relations == ["DERIVED_FROM", CONSUMED]
    assert facts.source is not None
    assert facts.source.evidence_id == "evd-src"


def test_walk_stops_on_cycles_and_after_max_hops() -> None:
    """A chain that loops back, or runs deeper than MAX_HOPS processors, ends the walk instead of spinning."""
    store = MemoryStore()
    facet = StreamFacet(topology_id="t", processor_node="n")
    loop_a = _ev("evd-a", ENRICHED, stream=facet, producer="t",
                 chain=[CorrelationLink(step=1, relation="DERIVED_FROM", evidence_id="evd-b")])
    loop_b = _ev("evd-b", ENRICHED, stream=facet, producer="t",
                 chain=[CorrelationLink(step=1, relation="DERIVED_FROM", evidence_id="evd-a")])
    deep = [_ev(f"evd-{i:03d}", ENRICHED, stream=facet, producer="t",
                chain=[CorrelationLink(step=1, relation="DERIVED_FROM", evidence_id=f"evd-{i + 1:03d}")])
            for i in range(MAX_HOPS + 5)]
    store.evidence.add_many([loop_a, loop_b, *deep])
    assert [e.evidence_id for e in walk(store.evidence, loop_a, SIG).path] == ["evd-a", "evd-b"]
    facts = walk(store.evidence, deep[0], SIG)
    assert len(facts.path) == MAX_HOPS + 1
    assert facts.source is None
