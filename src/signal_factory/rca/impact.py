"""Downstream of a failure: blast radius over FEEDS and the one-line data-flow trace.

Blast radius walks FEEDS edges breadth-first, one graph query per frontier, up to `MAX_HOPS`. A STREAM
edge that lands a topic as is in its bronze table (`raw.orders.events` -> `orders_bronze`) carries the
same records and does not count as a hop; `hops` in the report is still the real number of edges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.graph.model import DATASET, FEEDS, Edge, node_id, split_id
from signal_factory.graph.ports import GraphStore
from signal_factory.rca.lookups import DatasetInfo, as_str, dataset_info
from signal_factory.rca.report import BlastItem, FlowHop

MAX_HOPS = 3
FREE_FEED_TYPES = frozenset({"STREAM"})
#: Dataset types that consume data rather than hold a layer of it; the data-flow line stops before them.
CONSUMER_TYPES = frozenset({"dashboard", "pipeline", "report", "ml_model", "airflow_dag", "export"})

_IMPACT = {
    "kafka_topic": "carries the failing records",
    "delta_table": "may hold incomplete or invalid rows",
    "table": "may hold incomplete or invalid rows",
    "dashboard": "may show incomplete data",
    "pipeline": "consumes affected data; may fail or load incomplete data",
}


@dataclass(frozen=True)
class Reached:
    urn: str
    cost: int  # hops counted against MAX_HOPS
    edges: int  # real FEEDS edges from the root
    edge: Edge | None  # the edge that reached it (None for a root)


def downstream(graph: GraphStore, roots: Sequence[str], max_hops: int = MAX_HOPS) -> list[Reached]:
    """Datasets reached from `roots` (dataset URNs) over FEEDS, nearest first; roots not included."""
    seen = {node_id(DATASET, r) for r in roots}
    edges_to: dict[str, int] = dict.fromkeys(seen, 0)
    out: list[Reached] = []
    current = sorted(seen)
    level = 0
    while current and level <= max_hops:
        queue, nxt = current, list[str]()
        while queue:
            free_next: list[str] = []
            for e in graph.edges_from(queue, [FEEDS], "out"):
                free = e.props.get("type") in FREE_FEED_TYPES
                cost = level if free else level + 1
                if cost > max_hops or e.dst in seen:
                    continue
                seen.add(e.dst)
                edges_to[e.dst] = edges_to.get(e.src, 0) + 1
                out.append(Reached(split_id(e.dst)[1], cost, edges_to[e.dst], e))
                (free_next if free else nxt).append(e.dst)
            queue = free_next
        current, level = nxt, level + 1
    return out


def impact_text(info: DatasetInfo) -> str:
    return _IMPACT.get((info.type or "").lower(), "downstream of the failing data")


def blast_items(graph: GraphStore, reached: Sequence[Reached], catalog: Mapping[str, DatasetSpec] | None,
                also: Sequence[str] = ()) -> tuple[list[BlastItem], dict[str, DatasetInfo]]:
    """Report rows for reached datasets, and infos by URN for them and `also` (one `nodes_by_id` query)."""
    urns = sorted({*(r.urn for r in reached), *also})
    nodes = graph.nodes_by_id([node_id(DATASET, u) for u in urns])
    infos = {u: dataset_info(u, nodes.get(node_id(DATASET, u)), catalog) for u in urns}
    items: list[BlastItem] = []
    for r in sorted(reached, key=lambda r: (r.edges, _is_consumer(infos[r.urn]), r.urn)):
        info = infos[r.urn]
        props = r.edge.props if r.edge is not None else {}
        items.append(BlastItem(urn=r.urn, name=info.name, tier=info.tier, type=info.type, hops=r.edges,
                               via=FEEDS, feed_type=as_str(props.get("type")), job=as_str(props.get("job")),
                               impact=impact_text(info)))
    return items, infos


def _is_consumer(info: DatasetInfo) -> bool:
    return (info.type or "").lower() in CONSUMER_TYPES


def main_chain(start: str, reached: Sequence[Reached], infos: Mapping[str, DatasetInfo]) -> list[str]:
    """URNs from `start` to the deepest data layer (not a dashboard or pipeline), first such by URN."""
    parent = {r.urn: split_id(r.edge.src)[1] for r in reached if r.edge is not None}
    layers = [r for r in reached if r.urn in infos and not _is_consumer(infos[r.urn])]
    if not layers:
        return [start]
    deepest = min(layers, key=lambda r: (-r.edges, r.urn))
    path = [deepest.urn]
    while path[-1] in parent and path[-1] != start:
        path.append(parent[path[-1]])
    return list(reversed(path)) if path[-1] == start else [start, *reversed(path)]


def path_between(graph: GraphStore, src: str, dst: str, max_hops: int = MAX_HOPS) -> list[str] | None:
    """The FEEDS path src -> dst (URNs, both ends included), or None if not within `max_hops` edges."""
    if src == dst:
        return [src]
    reached = downstream(graph, [src], max_hops=max_hops)
    parent = {r.urn: split_id(r.edge.src)[1] for r in reached if r.edge is not None}
    if dst not in parent:
        return None
    path = [dst]
    while path[-1] != src:
        path.append(parent[path[-1]])
    return list(reversed(path))


def dataset_hops(urns: Sequence[str], infos: Mapping[str, DatasetInfo], *, first_label: str | None = None,
                 notes: Mapping[str, str] | None = None) -> list[FlowHop]:
    hops = []
    for i, urn in enumerate(urns):
        info = infos.get(urn)
        label = first_label if i == 0 and first_label else (info.short if info else urn.rsplit(":", 1)[-1])
        hops.append(FlowHop(label=label, kind="dataset", ref=urn, note=(notes or {}).get(urn)))
    return hops
