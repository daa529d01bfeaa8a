"""Scenario 2 facts: where a failure signature came from upstream and which batch runs it hit.

From the signature's nodes (one per dataset it was seen on): the Service on a PRODUCED_DRIFT edge and
its first real-time evidence, the JobRuns that ENCOUNTERED it (with their DAG runs, inputs and outputs),
datasets that INTRODUCED_DRIFT, the signals it CAUSED, and the evidence store's per-dataset counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from signal_factory.graph import model as gm
from signal_factory.graph.model import Node, split_id
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.rca.lookups import Run, as_int, as_str, run, to_ms
from signal_factory.stores.ports import EvidenceRepo, SignatureStats


@dataclass(frozen=True)
class RunFacts:
    run: Run
    dag_run_id: str | None
    inputs: list[str]
    outputs: list[str]


@dataclass
class DriftFacts:
    service: str | None = None  # producer on the earliest PRODUCED_DRIFT edge
    warn_id: str | None = None
    warn_ms: int | None = None
    warn: Evidence | None = None
    realtime_dataset: str | None = None
    realtime_count: int | None = None
    runs: list[RunFacts] = field(default_factory=list)
    batch_dataset: str | None = None
    batch_first_id: str | None = None
    batch_first_ms: int | None = None
    batch_first: Evidence | None = None
    batch_count: int | None = None
    introduced_drift: list[str] = field(default_factory=list)
    run_signatures: list[str] = field(default_factory=list)  # other signatures the same runs encountered
    signal_ids: list[str] = field(default_factory=list)
    stats: dict[str, SignatureStats] = field(default_factory=dict)


def signature_nodes(graph: GraphStore, reason_code: str, dataset_urn: str | None = None) -> list[Node]:
    """Every FailureSignature node of this reason code (any dataset), the given dataset's first."""
    nodes = {n.id: n for n in graph.nodes_of_kind(gm.FAILURE_SIGNATURE, prop=("reason_code", reason_code))}
    if dataset_urn is not None:
        own = gm.node_id(gm.FAILURE_SIGNATURE, gm.signature_key(reason_code, dataset_urn))
        if own not in nodes:
            nodes.update(graph.nodes_by_id([own]))
    return sorted(nodes.values(), key=lambda n: (n.props.get("dataset_urn") != dataset_urn, n.id))


def dataset_of(node: Node) -> str:
    return as_str(node.props.get("dataset_urn")) or node.key.rpartition("@")[2]


def gather(graph: GraphStore, evidence: EvidenceRepo, reason_code: str, nodes: Sequence[Node]) -> DriftFacts:
    facts = DriftFacts()
    ids = [n.id for n in nodes]
    ins = graph.edges_from(ids, [gm.PRODUCED_DRIFT, gm.ENCOUNTERED, gm.INTRODUCED_DRIFT], "in")
    facts.signal_ids = sorted({e.dst for e in graph.edges_from(ids, [gm.CAUSED], "out")})
    facts.introduced_drift = sorted({split_id(e.src)[1] for e in ins if e.type == gm.INTRODUCED_DRIFT})
    facts.stats = {s.dataset_urn: s for s in evidence.signature_stats(reason_code)}
    by_id = {n.id: n for n in nodes}

    drift = sorted((e for e in ins if e.type == gm.PRODUCED_DRIFT),
                   key=lambda e: (to_ms(e.props.get("timestamp")) or 2**62, e.src))
    if drift:
        edge = drift[0]
        facts.service = split_id(edge.src)[1]
        facts.warn_id = as_str(edge.props.get("first_evidence"))
        facts.warn = evidence.get(facts.warn_id) if facts.warn_id else None
        facts.warn_ms = to_ms(edge.props.get("timestamp")) or (to_ms(facts.warn.timestamp) if facts.warn else None)
        facts.realtime_dataset = facts.warn.dataset_urn if facts.warn else dataset_of(by_id[edge.dst])
        rt = facts.stats.get(facts.realtime_dataset)
        facts.realtime_count = rt.count if rt else as_int(by_id[edge.dst].props.get("count"))

    encountered = [e for e in ins if e.type == gm.ENCOUNTERED]
    if encountered:
        facts.runs = _runs(graph, encountered)
        run_ids = sorted({e.src for e in encountered})
        facts.run_signatures = sorted({e.dst for e in graph.edges_from(run_ids, [gm.ENCOUNTERED], "out")} - set(ids))
        facts.batch_dataset = dataset_of(by_id[encountered[0].dst])
        stats = facts.stats.get(facts.batch_dataset)
        node = by_id[encountered[0].dst]
        facts.batch_count = stats.count if stats else as_int(node.props.get("count"))
        facts.batch_first_id = stats.first_evidence_id if stats else as_str(node.props.get("first_evidence"))
        facts.batch_first_ms = stats.first_seen_ms if stats else (
            as_int(node.props.get("first_seen_ms")) or to_ms(node.props.get("first_seen")))
        facts.batch_first = evidence.get(facts.batch_first_id) if facts.batch_first_id else None
    return facts


def _runs(graph: GraphStore, encountered: Sequence[gm.Edge]) -> list[RunFacts]:
    """Affected runs, newest first, with their DAG run and the datasets they read and wrote."""
    run_ids = sorted({e.src for e in encountered})
    nodes = graph.nodes_by_id(run_ids)
    io = graph.edges_from(run_ids, [gm.READ_FROM, gm.WROTE_TO], "out")
    dags = {e.dst: split_id(e.src)[1] for e in graph.edges_from(run_ids, [gm.EXECUTED], "in")}
    by_run = {e.src: e for e in encountered}
    out = []
    for rid in run_ids:
        node = nodes.get(rid) or Node(gm.JOB_RUN, split_id(rid)[1])
        out.append(RunFacts(run(node, by_run[rid]), dags.get(rid) or as_str(node.props.get("dag_run_id")),
                            sorted(split_id(e.dst)[1] for e in io if e.src == rid and e.type == gm.READ_FROM),
                            sorted(split_id(e.dst)[1] for e in io if e.src == rid and e.type == gm.WROTE_TO)))
    out.sort(key=lambda r: (-(r.run.start_ms or 0), r.run.run_id))
    return out
