"""Subgraphs the UI draws: a node's neighbourhood, the lineage, an incident's causal chain. Pure reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from signal_factory.graph import model as gm
from signal_factory.graph.model import Edge, Node
from signal_factory.graph.ports import GraphStore
from signal_factory.rca.impact import downstream

MAX_DEPTH = 4
MAX_NODES = 500


def node_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(node)
    out["id"] = node.id
    return out


def subgraph(graph: GraphStore, node_ids: Iterable[str], edges: Iterable[Edge]) -> dict[str, Any]:
    """`{nodes, edges}`: the stored nodes among `node_ids` (sorted) and the edges between any of them."""
    nodes = graph.nodes_by_id(sorted(set(node_ids)))
    seen: set[tuple[str, str, str]] = set()
    kept: list[dict[str, Any]] = []
    for e in edges:
        key = (e.src, e.type, e.dst)
        if key not in seen and e.src in nodes and e.dst in nodes:
            seen.add(key)
            kept.append(msgspec.to_builtins(e))
    return {"nodes": [node_json(nodes[n]) for n in sorted(nodes)], "edges": kept}


def neighbourhood(graph: GraphStore, start: str, depth: int) -> dict[str, Any]:
    """Nodes within `depth` hops of `start` along any edge, either direction (capped at MAX_NODES)."""
    depth = max(0, min(depth, MAX_DEPTH))
    seen = {start}
    frontier = [start]
    edges: list[Edge] = []
    for _ in range(depth):
        if not frontier or len(seen) >= MAX_NODES:
            break
        found = graph.edges_from(frontier, None, "out") + graph.edges_from(frontier, None, "in")
        nxt: list[str] = []
        for e in found:
            for other in (e.src, e.dst):
                if other not in seen and len(seen) < MAX_NODES:
                    seen.add(other)
                    nxt.append(other)
            edges.append(e)
        frontier = nxt
    return subgraph(graph, seen, edges)


def lineage(graph: GraphStore) -> dict[str, Any]:
    """Every Dataset node and the FEEDS edges between them."""
    datasets = graph.nodes_of_kind(gm.DATASET, limit=10_000)
    ids = [n.id for n in datasets]
    return subgraph(graph, ids, graph.edges_from(ids, [gm.FEEDS], "out"))


def incident_chain(graph: GraphStore, incident_id: str, dataset_urn: str) -> dict[str, Any]:
    """Incident <-TRIGGERED- Signal <-CAUSED- FailureSignature <-INTRODUCED- Deployment <-DEPLOYED- Service,
    the Signal -AFFECTS-> Dataset, and the datasets downstream of it that the RCA's blast radius lists."""
    inc = gm.node_id(gm.INCIDENT, incident_id)
    edges = graph.edges_from([inc], [gm.TRIGGERED], "in")
    signals = [e.src for e in edges]
    caused = graph.edges_from(signals, [gm.CAUSED], "in") if signals else []
    affects = graph.edges_from(signals, [gm.AFFECTS], "out") if signals else []
    signatures = sorted({e.src for e in caused})
    introduced = graph.edges_from(signatures, [gm.INTRODUCED], "in") if signatures else []
    deployments = sorted({e.src for e in introduced})
    deployed = graph.edges_from(deployments, [gm.DEPLOYED], "in") if deployments else []
    dataset = gm.node_id(gm.DATASET, dataset_urn)
    # The RCA's own blast-radius walk (a STREAM landing is not a hop), so the drawing and the table agree.
    reached = [r.edge for r in downstream(graph, [dataset_urn]) if r.edge is not None]
    all_edges = [*edges, *caused, *affects, *introduced, *deployed, *reached]
    ids = {inc, dataset, *signals, *signatures, *deployments, *(e.src for e in deployed),
           *(e.dst for e in reached)}
    return subgraph(graph, ids, all_edges)
