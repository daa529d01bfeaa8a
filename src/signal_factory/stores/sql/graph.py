"""`GraphStore` on SQL (`graph_nodes`, `graph_edges`): the same promises as `graph.memory.MemoryGraphStore`.

MERGE is read-modify-write inside the caller's transaction (or a short one of its own): one SELECT of
the batch's existing rows, props merged key by key in Python, then one executemany of inserts and one
of updates. SQLite writers hold the database write lock for the whole step (BEGIN IMMEDIATE); on
PostgreSQL the SELECT locks the existing rows (FOR UPDATE) and a row inserted meanwhile by another
writer is merged by the INSERT itself (`ON CONFLICT ... props::jsonb || excluded.props::jsonb`).

Props are JSON text, so values must be JSON types (tuples come back as lists). Orderings are by code
point, like Python's: results are sorted here, or with `COLLATE "C"` on PostgreSQL where SQL limits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from signal_factory.graph.model import Edge, Node
from signal_factory.graph.ports import Direction
from signal_factory.stores.sql.graph_schema import graph_edges as e_t
from signal_factory.stores.sql.graph_schema import graph_nodes as n_t
from signal_factory.stores.sql.transactions import Database

#: Ids per `IN (...)` list: far below SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
CHUNK = 5000
#: Edge keys per `(src, type, dst) IN (...)` lookup (three parameters each).
EDGE_CHUNK = 1500

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(dict[str, Any])


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _node(row: Any) -> Node:  # a Row of (id, kind, key, props, ts_ms)
    return Node(row.kind, row.key, _dec.decode(row.props), row.ts_ms)


def _edge(row: Any) -> Edge:
    return Edge(row.src, row.type, row.dst, _dec.decode(row.props))


def _edge_key(e: Edge) -> tuple[str, str, str]:
    return e.src, e.type, e.dst


class SqlGraphStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pg = db.dialect == "postgresql"
        self._node_update = update(n_t).where(n_t.c.id == bindparam("b_id")).values(
            props=bindparam("b_props"), ts_ms=bindparam("b_ts"))
        self._edge_update = update(e_t).where(
            e_t.c.src == bindparam("b_src"), e_t.c.type == bindparam("b_type"), e_t.c.dst == bindparam("b_dst"),
        ).values(props=bindparam("b_props"))

    # -- writes --------------------------------------------------------------------------------------

    def merge_nodes(self, nodes: Sequence[Node]) -> None:
        batch: dict[str, Node] = {}  # the batch merged in order first, as the memory store would
        for n in nodes:
            cur = batch.get(n.id)
            if cur is None:
                batch[n.id] = Node(n.kind, n.key, dict(n.props), n.ts_ms)
            else:
                cur.props.update(n.props)
                if n.ts_ms is not None:
                    cur.ts_ms = n.ts_ms
        if not batch:
            return
        with self._db.write() as conn:
            old = self._rows(conn, select(n_t.c.id, n_t.c.props, n_t.c.ts_ms), n_t.c.id, list(batch))
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for nid, n in batch.items():
                row = old.get(nid)
                if row is None:
                    inserts.append({"id": nid, "kind": n.kind, "key": n.key, "props": _enc.encode(n.props).decode(),
                                    "ts_ms": n.ts_ms})
                    continue
                props = _enc.encode({**_dec.decode(row.props), **n.props}).decode()
                ts_ms = row.ts_ms if n.ts_ms is None else n.ts_ms
                if props != row.props or ts_ms != row.ts_ms:
                    updates.append({"b_id": nid, "b_props": props, "b_ts": ts_ms})
            if inserts:
                conn.execute(self._insert_nodes(), inserts)
            if updates:
                conn.execute(self._node_update, updates)

    def merge_edges(self, edges: Sequence[Edge]) -> None:
        batch: dict[tuple[str, str, str], Edge] = {}
        for e in edges:
            k = _edge_key(e)
            cur = batch.get(k)
            if cur is None:
                batch[k] = Edge(e.src, e.type, e.dst, dict(e.props))
            else:
                cur.props.update(e.props)
        if not batch:
            return
        with self._db.write() as conn:
            old = self._edge_rows(conn, list(batch))
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for k, e in batch.items():
                text = old.get(k)
                if text is None:
                    inserts.append({"src": e.src, "type": e.type, "dst": e.dst,
                                    "props": _enc.encode(e.props).decode()})
                    continue
                props = _enc.encode({**_dec.decode(text), **e.props}).decode()
                if props != text:
                    updates.append({"b_src": e.src, "b_type": e.type, "b_dst": e.dst, "b_props": props})
            if inserts:
                conn.execute(self._insert_edges(), inserts)
            if updates:
                conn.execute(self._edge_update, updates)

    def _insert_nodes(self) -> Any:
        ins = self._db.insert(n_t)
        if not self._pg:
            return ins  # SQLite: the write lock is held since the SELECT, nobody can have inserted meanwhile
        return ins.on_conflict_do_update(index_elements=[n_t.c.id], set_={
            "props": cast(cast(n_t.c.props, JSONB).op("||")(cast(ins.excluded.props, JSONB)), Text),
            "ts_ms": func.coalesce(ins.excluded.ts_ms, n_t.c.ts_ms)})

    def _insert_edges(self) -> Any:
        ins = self._db.insert(e_t)
        if not self._pg:
            return ins
        return ins.on_conflict_do_update(index_elements=[e_t.c.src, e_t.c.type, e_t.c.dst], set_={
            "props": cast(cast(e_t.c.props, JSONB).op("||")(cast(ins.excluded.props, JSONB)), Text)})

    def _edge_rows(self, conn: Connection, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """Props text of the edges among `keys` that exist (chunked); locked for update on PostgreSQL."""
        stmt = select(e_t.c.src, e_t.c.type, e_t.c.dst, e_t.c.props)
        if self._pg:
            stmt = stmt.with_for_update()
        out: dict[tuple[str, str, str], str] = {}
        for chunk in _chunks(keys, EDGE_CHUNK):
            for row in conn.execute(stmt.where(tuple_(e_t.c.src, e_t.c.type, e_t.c.dst).in_(chunk))):
                out[row.src, row.type, row.dst] = row.props
        return out

    def _rows(self, conn: Connection, stmt: Any, col: Any, ids: Sequence[str]) -> dict[str, Any]:
        """Rows whose `col` is one of `ids` (chunked), by id; locked for update on PostgreSQL."""
        if self._pg:
            stmt = stmt.with_for_update()
        out: dict[str, Any] = {}
        for chunk in _chunks(ids, CHUNK):
            for row in conn.execute(stmt.where(col.in_(chunk))):
                out[row.id] = row
        return out

    # -- reads ---------------------------------------------------------------------------------------

    def node(self, nid: str) -> Node | None:
        return self.nodes_by_id([nid]).get(nid)

    def nodes_by_id(self, nids: Sequence[str]) -> dict[str, Node]:
        wanted = list(dict.fromkeys(nids))
        if not wanted:
            return {}
        stmt = select(n_t.c.id, n_t.c.kind, n_t.c.key, n_t.c.props, n_t.c.ts_ms)
        found: dict[str, Node] = {}
        with self._db.read() as conn:
            for chunk in _chunks(wanted, CHUNK):
                for row in conn.execute(stmt.where(n_t.c.id.in_(chunk))):
                    found[row.id] = _node(row)
        return {n: found[n] for n in wanted if n in found}

    def edges_from(self, nids: Sequence[str], types: Sequence[str] | None = None,
                   direction: Direction = "out") -> list[Edge]:
        """One query (per 5,000 ids) for the whole frontier."""
        wanted = list(dict.fromkeys(nids))
        if not wanted:
            return []
        end = e_t.c.src if direction == "out" else e_t.c.dst
        stmt = select(e_t.c.src, e_t.c.type, e_t.c.dst, e_t.c.props)
        if types is not None:
            stmt = stmt.where(e_t.c.type.in_(list(types)))
        out: list[Edge] = []
        with self._db.read() as conn:
            for chunk in _chunks(wanted, CHUNK):
                out.extend(_edge(r) for r in conn.execute(stmt.where(end.in_(chunk))))
        out.sort(key=_edge_key)
        return out

    def nodes_of_kind(self, kind: str, *, start_ms: int | None = None, end_ms: int | None = None,
                      prop: tuple[str, object] | None = None, limit: int = 1000) -> list[Node]:
        """By (ts_ms, key), nodes without ts_ms first. A prop filter is narrowed in SQL where the value is a
        scalar, and always checked exactly in Python (so `True == 1` matches as it does in memory)."""
        stmt = select(n_t.c.id, n_t.c.kind, n_t.c.key, n_t.c.props, n_t.c.ts_ms).where(n_t.c.kind == kind)
        if start_ms is not None:
            stmt = stmt.where(n_t.c.ts_ms >= start_ms)
        if end_ms is not None:
            stmt = stmt.where(n_t.c.ts_ms <= end_ms)
        key = n_t.c.key.collate("C") if self._pg else n_t.c.key
        stmt = stmt.order_by(func.coalesce(n_t.c.ts_ms, -1), key)
        if prop is None:
            with self._db.read() as conn:
                return [_node(r) for r in conn.execute(stmt.limit(max(limit, 0)))]
        name, value = prop
        narrow = self._prop_filter(name, value)
        if narrow is not None:
            stmt = stmt.where(narrow)
        out: list[Node] = []
        with self._db.read() as conn:
            for row in conn.execute(stmt):
                if len(out) >= limit:
                    break
                n = _node(row)
                if n.props.get(name) == value:
                    out.append(n)
        return out

    def _prop_filter(self, name: str, value: object) -> Any:
        """A SQL condition every node with props[name] == value meets (a superset), or None."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None  # bools and containers: Python decides alone
        if self._pg:
            field = cast(n_t.c.props, JSONB).op("->")(literal(name, String))
            same = field == cast(literal(_enc.encode(value).decode(), String), JSONB)
            # Python's True == 1: a stored boolean may equal a number
            return same if isinstance(value, str) else or_(same, func.jsonb_typeof(field) == "boolean")
        if '"' in name or "\\" in name:
            return None
        return func.json_extract(n_t.c.props, f'$."{name}"') == value  # SQLite's true is 1, as in Python

    def iter_nodes(self) -> Iterator[Node]:
        """Every node, by id. Reads the table in one query (the whole graph is held while iterating)."""
        with self._db.read() as conn:
            rows = conn.execute(select(n_t.c.id, n_t.c.kind, n_t.c.key, n_t.c.props, n_t.c.ts_ms)).all()
        yield from sorted((_node(r) for r in rows), key=lambda n: n.id)

    def iter_edges(self) -> Iterator[Edge]:
        """Every edge, by (src, type, dst)."""
        with self._db.read() as conn:
            rows = conn.execute(select(e_t.c.src, e_t.c.type, e_t.c.dst, e_t.c.props)).all()
        yield from sorted((_edge(r) for r in rows), key=_edge_key)

    def counts(self) -> tuple[int, int]:
        with self._db.read() as conn:
            nodes = conn.execute(select(func.count()).select_from(n_t)).scalar_one()
            edges = conn.execute(select(func.count()).select_from(e_t)).scalar_one()
        return int(nodes), int(edges)

