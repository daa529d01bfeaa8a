"""Reading the graph for RCA: typed views of nodes (deployments, datasets, runs) and a timing proxy.

The graph writer stores props as JSON-able values; times arrive as ISO text or epoch ms, counts as
ints. These views read them defensively so a missing prop degrades a report line, never the report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.graph.model import Edge, Node, split_id
from signal_factory.graph.ports import Direction, GraphStore
from signal_factory.model.timefmt import iso_ms, parse_iso_ms


class TimedGraph:
    """Wraps a `GraphStore`, adding up the wall time and number of calls RCA spends in it."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def _timed(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1

    def merge_nodes(self, nodes: Sequence[Node]) -> None:
        self._timed(self.inner.merge_nodes, nodes)

    def merge_edges(self, edges: Sequence[Edge]) -> None:
        self._timed(self.inner.merge_edges, edges)

    def node(self, nid: str) -> Node | None:
        result: Node | None = self._timed(self.inner.node, nid)
        return result

    def nodes_by_id(self, nids: Sequence[str]) -> dict[str, Node]:
        if not nids:
            return {}
        result: dict[str, Node] = self._timed(self.inner.nodes_by_id, nids)
        return result

    def edges_from(self, nids: Sequence[str], types: Sequence[str] | None = None,
                   direction: Direction = "out") -> list[Edge]:
        if not nids:
            return []
        result: list[Edge] = self._timed(self.inner.edges_from, nids, types, direction)
        return result

    def nodes_of_kind(self, kind: str, *, start_ms: int | None = None, end_ms: int | None = None,
                      prop: tuple[str, object] | None = None, limit: int = 1000) -> list[Node]:
        result: list[Node] = self._timed(self.inner.nodes_of_kind, kind, start_ms=start_ms, end_ms=end_ms,
                                         prop=prop, limit=limit)
        return result

    def iter_nodes(self) -> Iterator[Node]:
        return self.inner.iter_nodes()

    def iter_edges(self) -> Iterator[Edge]:
        return self.inner.iter_edges()

    def counts(self) -> tuple[int, int]:
        result: tuple[int, int] = self._timed(self.inner.counts)
        return result


def to_ms(value: object) -> int | None:
    """An ISO string or epoch-ms number -> epoch ms; anything else -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value:
        return parse_iso_ms(value)
    return None


def iso(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(ms)


def clock(ms: int | None, *, with_date: bool = False) -> str:
    """'09:57:45' (or '2024-01-14 14:30:00' with the date); '?' when unknown."""
    if ms is None:
        return "?"
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Deployment:
    id: str
    service: str
    version: str
    deployed_ms: int | None
    commit: str | None
    inferred: bool

    @property
    def label(self) -> str:
        return f"{self.service} {self.version}"


def deployment(node: Node) -> Deployment:
    service, _, version = node.key.rpartition(":")
    p = node.props
    deployed = to_ms(p.get("deployed_at")) or node.ts_ms or to_ms(p.get("first_seen"))
    return Deployment(id=node.id, service=as_str(p.get("service")) or service or node.key,
                      version=as_str(p.get("version")) or version, deployed_ms=deployed,
                      commit=as_str(p.get("commit")), inferred=p.get("source") in ("inferred", "otel"))


@dataclass(frozen=True)
class DatasetInfo:
    urn: str
    name: str
    tier: int | None
    type: str | None
    owner: str | None

    @property
    def short(self) -> str:
        """Last URN segment: `urn:dp:orders:silver` -> `silver`."""
        return self.urn.rsplit(":", 1)[-1]


def dataset_info(urn: str, node: Node | None, catalog: Mapping[str, DatasetSpec] | None = None) -> DatasetInfo:
    """The graph's Dataset props, filled in from the control-plane catalog where the graph lacks them."""
    p = node.props if node is not None else {}
    spec = catalog.get(urn) if catalog else None
    return DatasetInfo(
        urn=urn,
        name=as_str(p.get("name")) or (spec.name if spec and spec.name else None) or urn.rsplit(":", 1)[-1],
        tier=as_int(p.get("tier")) if p.get("tier") is not None else (spec.tier if spec else None),
        type=as_str(p.get("type")) or (spec.type if spec else None),
        owner=as_str(p.get("owner")) or (spec.owner if spec else None))


@dataclass(frozen=True)
class Run:
    run_id: str
    job: str | None
    start_ms: int | None
    end_ms: int | None
    processed: int | None
    failed: int | None


def run(node: Node, encountered: Edge | None = None) -> Run:
    p = node.props
    e = encountered.props if encountered is not None else {}
    job = as_str(p.get("job_name")) or as_str(p.get("job")) or as_str(p.get("name"))
    if job and "/" in job and not p.get("job_name"):
        job = job.rsplit("/", 1)[-1]  # `Job` keys are `<namespace>/<name>`
    return Run(run_id=split_id(node.id)[1], job=job,
               start_ms=to_ms(p.get("start_time")) or to_ms(p.get("started_at")) or node.ts_ms,
               end_ms=to_ms(p.get("end_time")) or to_ms(p.get("ended_at")),
               processed=as_int(p.get("records_processed")),
               failed=as_int(e.get("count")) or as_int(e.get("records_failed")) or as_int(p.get("records_failed")))


def signature_parts(reason_code: str) -> tuple[str, str | None, str | None]:
    """`UNKNOWN_ENUM:discount_type:FLASH_SALE` -> ('UNKNOWN_ENUM', 'discount_type', 'FLASH_SALE')."""
    kind, _, rest = reason_code.partition(":")
    field, _, value = rest.partition(":")
    return kind, field or None, value or None
