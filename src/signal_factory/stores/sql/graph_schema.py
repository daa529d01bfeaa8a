"""The causal graph's tables (`graph/model.py`), on the same metadata as `schema.py`.

`graph_nodes`: one row per node id (`<Kind>:<key>`), props as JSON text, `ts_ms` for time-ranged
lookups by kind. `graph_edges`: one row per (src, type, dst); its primary key's leading columns
serve "edges leaving these nodes" (`src IN (...) AND type IN (...)`), the second index serves
"edges entering". Endpoints are plain ids, not foreign keys: an edge may name a node written later.
Migration `0002_graph` creates exactly these.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from signal_factory.stores.sql.schema import metadata

graph_nodes = Table(
    "graph_nodes", metadata,
    Column("id", String(), primary_key=True),
    Column("kind", String(), nullable=False),
    Column("key", String(), nullable=False),
    Column("props", Text, nullable=False),
    Column("ts_ms", BigInteger),
    Index(None, "kind", "ts_ms"),
)

graph_edges = Table(
    "graph_edges", metadata,
    Column("src", String(), primary_key=True),
    Column("type", String(), primary_key=True),
    Column("dst", String(), primary_key=True),
    Column("props", Text, nullable=False),
    Index(None, "dst", "type"),
)
