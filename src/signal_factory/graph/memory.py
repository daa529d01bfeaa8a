"""In-memory graph store: same semantics as the SQL one, for unit tests and the embedded default."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from signal_factory.graph.model import Edge, Node, split_id
from signal_factory.graph.ports import Direction


class MemoryGraphStore:
    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._edges: dict[tuple[str, str, str], Edge] = {}
        self._out: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self._in: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self._by_kind: dict[str, set[str]] = defaultdict(set)  # RCA lists deployments by kind and time

    def merge_nodes(self, nodes: Sequence[Node]) -> None:
        for n in nodes:
            old = self._nodes.get(n.id)
            if old is None:
                self._nodes[n.id] = Node(n.kind, n.key, dict(n.props), n.ts_ms)
                self._by_kind[n.kind].add(n.id)
            else:
                old.props.update(n.props)
                if n.ts_ms is not None:
                    old.ts_ms = n.ts_ms

    def merge_edges(self, edges: Sequence[Edge]) -> None:
        for e in edges:
            k = (e.src, e.type, e.dst)
            old = self._edges.get(k)
            if old is None:
                self._edges[k] = Edge(e.src, e.type, e.dst, dict(e.props))
                self._out[e.src].add(k)
                self._in[e.dst].add(k)
            else:
                old.props.update(e.props)

    def node(self, nid: str) -> Node | None:
        return self._nodes.get(nid)

    def nodes_by_id(self, nids: Sequence[str]) -> dict[str, Node]:
        return {n: self._nodes[n] for n in nids if n in self._nodes}

    def edges_from(self, nids: Sequence[str], types: Sequence[str] | None = None,
                   direction: Direction = "out") -> list[Edge]:
        index = self._out if direction == "out" else self._in
        wanted = set(types) if types is not None else None
        keys = sorted({k for n in nids for k in index.get(n, ()) if wanted is None or k[1] in wanted})
        return [self._edges[k] for k in keys]

    def nodes_of_kind(self, kind: str, *, start_ms: int | None = None, end_ms: int | None = None,
                      prop: tuple[str, object] | None = None, limit: int = 1000) -> list[Node]:
        candidates = (self._nodes[i] for i in self._by_kind.get(kind, ()))
        out = [n for n in candidates
               if (start_ms is None or (n.ts_ms is not None and n.ts_ms >= start_ms))
               and (end_ms is None or (n.ts_ms is not None and n.ts_ms <= end_ms))
               and (prop is None or n.props.get(prop[0]) == prop[1])]
        out.sort(key=lambda n: (n.ts_ms if n.ts_ms is not None else -1, n.key))
        return out[:limit]

    def iter_nodes(self) -> Iterator[Node]:
        yield from sorted(self._nodes.values(), key=lambda n: n.id)

    def iter_edges(self) -> Iterator[Edge]:
        yield from (self._edges[k] for k in sorted(self._edges))

    def counts(self) -> tuple[int, int]:
        return len(self._nodes), len(self._edges)

    def kinds(self) -> set[str]:
        return {split_id(n)[0] for n in self._nodes}
