"""Stream processors in the graph (seed section 5: "Topology -> Processor -> Evidence"), from their evidence.

A stream evidence's `stream` facet names its topology and processor node; from it come

    Processor -[PART_OF]-> Topology
    Processor -[CONSUMES]-> Dataset   the datasets of the topics it read: its evidence's source topic (or
                                      `source.input_dataset`) and the topics its correlation chain names
    Processor -[PRODUCES]-> Dataset   the dataset its evidence is about (what it writes)
    Dataset -[FEEDS {type: stream, job: <processor>}]-> Dataset   source to sink, unless the control plane
                                      already declares that edge (its props win)

Both nodes carry the version the latest evidence names (its producer is the topology, `producer.version`); the
Topology also names its `Deployment` node (written by the deployment inference or a marker, as for any service).
Pure: evidence and the control plane in, nodes and edges out (`GraphWriter.on_evidence` writes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph import model as g
from signal_factory.graph.model import Edge, Node, deployment_key, node_id, processor_key
from signal_factory.model.evidence import Evidence
from signal_factory.model.stream import chain_links
from signal_factory.model.timefmt import iso_ms, parse_iso_ms

STREAM_FEED = "stream"


@dataclass
class _Processor:
    topology_id: str
    node: str
    last_ms: int = -1
    version: str | None = None
    sources: set[str] = field(default_factory=set)
    sinks: set[str] = field(default_factory=set)


def _sources(ev: Evidence, cp: ControlPlane) -> set[str]:
    topics = {link.topic for link in chain_links(ev.correlation_chain) if link.topic}
    out = set()
    src = ev.source
    if src is not None:
        if src.topic and not ev.correlation_chain:  # a root evidence's source is the record it consumed
            topics.add(src.topic)
        if src.input_dataset:
            out.add(src.input_dataset)
    for topic in topics:
        ds = cp.dataset_for_topic(topic)
        if ds is not None:
            out.add(ds.urn)
    return out


def processor_graph(evidence: Sequence[Evidence], cp: ControlPlane) -> tuple[list[Node], list[Edge]]:
    """Topology and Processor nodes and their edges for the stream evidence in `evidence` (others are skipped)."""
    procs: dict[str, _Processor] = {}
    for ev in evidence:
        f = ev.stream
        if f is None:
            continue
        key = processor_key(f.topology_id, f.processor_node)
        p = procs.setdefault(key, _Processor(f.topology_id, f.processor_node))
        ms = parse_iso_ms(ev.event_time()) or -1
        prod = ev.producer
        if ms >= p.last_ms:
            p.last_ms = ms
            if prod is not None and prod.id == f.topology_id and prod.version:
                p.version = prod.version
        p.sources |= _sources(ev, cp)
        p.sinks.add(ev.dataset_urn)
    nodes: list[Node] = []
    edges: list[Edge] = []
    topologies: dict[str, _Processor] = {}
    for key, p in sorted(procs.items()):
        pid = node_id(g.PROCESSOR, key)
        tid = node_id(g.TOPOLOGY, p.topology_id)
        seen = {"last_seen": iso_ms(p.last_ms), "last_seen_ms": p.last_ms} if p.last_ms >= 0 else {}
        nodes.append(Node(g.PROCESSOR, key, {"topology_id": p.topology_id, "processor_node": p.node, **seen,
                                            **({"version": p.version} if p.version else {})}))
        edges.append(Edge(pid, g.PART_OF, tid))
        edges += [Edge(pid, g.CONSUMES, node_id(g.DATASET, u)) for u in sorted(p.sources)]
        edges += [Edge(pid, g.PRODUCES, node_id(g.DATASET, u)) for u in sorted(p.sinks)]
        edges += [Edge(node_id(g.DATASET, a), g.FEEDS, node_id(g.DATASET, b), {"type": STREAM_FEED, "job": key})
                  for a in sorted(p.sources) for b in sorted(p.sinks) if a != b and b not in cp.downstream(a)]
        t = topologies.get(p.topology_id)
        if t is None or p.last_ms > t.last_ms:
            topologies[p.topology_id] = p
    for topology_id, p in sorted(topologies.items()):
        props: dict[str, object] = {"topology_id": topology_id}
        if p.last_ms >= 0:
            props.update(last_seen=iso_ms(p.last_ms), last_seen_ms=p.last_ms)
        if p.version:
            props.update(version=p.version, deployment=node_id(g.DEPLOYMENT, deployment_key(topology_id, p.version)))
        nodes.append(Node(g.TOPOLOGY, topology_id, props))
    return nodes, edges
