"""What RCA and the writer need from a graph store (SQL in `stores/sql/graph.py`, memory below)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

from signal_factory.graph.model import Edge, Node

Direction = Literal["out", "in"]


class GraphStore(Protocol):
    def merge_nodes(self, nodes: Sequence[Node]) -> None:
        """Create nodes, or merge props into existing ones (key by key); ts_ms is set if given."""
        ...

    def merge_edges(self, edges: Sequence[Edge]) -> None:
        """Create edges (src, type, dst), or merge props into existing ones. Endpoints need not exist yet."""
        ...

    def node(self, nid: str) -> Node | None: ...

    def nodes_by_id(self, nids: Sequence[str]) -> dict[str, Node]: ...

    def edges_from(self, nids: Sequence[str], types: Sequence[str] | None = None,
                   direction: Direction = "out") -> list[Edge]:
        """Edges leaving (out) or entering (in) any of `nids`, optionally of the given types."""
        ...

    def nodes_of_kind(self, kind: str, *, start_ms: int | None = None, end_ms: int | None = None,
                      prop: tuple[str, object] | None = None, limit: int = 1000) -> list[Node]:
        """Nodes of a kind, optionally with ts_ms in [start_ms, end_ms] and/or props[name] == value; by ts_ms."""
        ...

    def iter_nodes(self) -> Iterator[Node]: ...

    def iter_edges(self) -> Iterator[Edge]: ...

    def counts(self) -> tuple[int, int]:
        """(nodes, edges)."""
        ...


def traverse(graph: GraphStore, start: Sequence[str], types: Sequence[str], direction: Direction = "out",
             max_depth: int = 3) -> list[tuple[str, int, Edge]]:
    """Breadth-first walk along `types` up to `max_depth` hops: (node id, depth, edge that reached it).

    One query per depth level (a frontier at a time), so cost is bounded by depth, not graph size.
    """
    seen = set(start)
    frontier = list(start)
    out: list[tuple[str, int, Edge]] = []
    for depth in range(1, max_depth + 1):
        if not frontier:
            break
        nxt: list[str] = []
        for edge in graph.edges_from(frontier, types, direction):
            other = edge.dst if direction == "out" else edge.src
            if other not in seen:
                seen.add(other)
                nxt.append(other)
                out.append((other, depth, edge))
        frontier = nxt
    return out
