"""Graph stores: the SQL one behaves exactly as the in-memory reference, over one table of operations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect

from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.model import Edge, Node
from signal_factory.graph.ports import GraphStore, traverse
from signal_factory.stores.sql import graph as sql_graph
from signal_factory.stores.sql import open_store
from signal_factory.stores.sql.migrate import alembic_config
from signal_factory.stores.sql.schema import metadata

D, S = "Dataset", "Signal"
A, B, C, E = "Dataset:a", "Dataset:b", "Dataset:c", "Dataset:é"

#: Each step is one merge call; after every step both stores must answer every query alike.
STEPS: list[tuple[str, list[Any]]] = [
    ("nodes", [Node(D, "a", {"tier": 1, "name": "A"}), Node(D, "b", {"tier": 2}, 50), Node(S, "s1", {}, 10)]),
    ("nodes", [Node(D, "a", {"tier": 3, "owner": "x"}), Node(D, "b", {"flag": True})]),  # merge; ts_ms kept
    ("nodes", [Node(D, "b", {}, 70), Node(D, "c", {"n": None, "nested": {"k": [1, 2]}}, 5)]),
    ("nodes", [Node(D, "é", {"q": 'quote " and \\ back'}, 5), Node(D, "Z", {"tier": 1}), Node(D, "z", {"tier": 1.0})]),
    ("nodes", [Node(S, "s2", {"state": "OK"}, 20), Node(S, "s2", {"state": "CRITICAL"}, 30)]),  # twice in a batch
    ("edges", [Edge(A, "FEEDS", B, {"type": "STREAM"}), Edge(B, "FEEDS", C), Edge(C, "FEEDS", E)]),
    ("edges", [Edge(A, "FEEDS", B, {"job": "j"}), Edge(A, "FEEDS", B, {"type": "BATCH"})]),  # merge within batch
    ("edges", [Edge("Signal:s1", "AFFECTS", A), Edge(A, "OWNED_BY", "Service:ghost", {"n": 1})]),  # dangling end
    ("edges", [Edge(E, "FEEDS", A), Edge("Dataset:Z", "FEEDS", A, {"x": [1, {"y": None}]})]),
    ("nodes", []),
    ("edges", []),
]

QUERIES: list[tuple[str, Callable[[GraphStore], Any]]] = [
    ("counts", lambda g: g.counts()),
    ("iter_nodes", lambda g: list(g.iter_nodes())),
    ("iter_edges", lambda g: list(g.iter_edges())),
    ("node", lambda g: [g.node(n) for n in (A, B, E, "Dataset:none", "Signal:s2")]),
    ("nodes_by_id", lambda g: g.nodes_by_id([C, A, "nope", A, E])),
    ("out", lambda g: g.edges_from([A, B, A])),
    ("in", lambda g: g.edges_from([A, B], direction="in")),
    ("typed", lambda g: g.edges_from([A, "Signal:s1", "Dataset:Z"], ["FEEDS", "AFFECTS"])),
    ("no types", lambda g: g.edges_from([A], [])),
    ("nobody", lambda g: g.edges_from([])),
    ("kind", lambda g: g.nodes_of_kind(D)),
    ("kind limit", lambda g: g.nodes_of_kind(D, limit=2)),
    ("kind range", lambda g: g.nodes_of_kind(D, start_ms=5, end_ms=60)),
    ("kind since", lambda g: g.nodes_of_kind(S, start_ms=15)),
    ("prop str", lambda g: g.nodes_of_kind(S, prop=("state", "CRITICAL"))),
    ("prop int", lambda g: g.nodes_of_kind(D, prop=("tier", 1))),  # 1 == 1.0 == True, as in Python
    ("prop bool", lambda g: g.nodes_of_kind(D, prop=("flag", 1))),
    ("prop none", lambda g: g.nodes_of_kind(D, prop=("n", None), limit=2)),
    ("prop map", lambda g: g.nodes_of_kind(D, prop=("nested", {"k": [1, 2]}))),
    ("prop odd name", lambda g: g.nodes_of_kind(D, prop=('we"ird', 1))),
    ("traverse", lambda g: traverse(g, [A], ["FEEDS"], max_depth=3)),
    ("traverse in", lambda g: traverse(g, [A], ["FEEDS", "AFFECTS"], "in", 2)),
]


def _answers(graph: GraphStore) -> dict[str, Any]:
    return {name: query(graph) for name, query in QUERIES}


def test_sql_graph_answers_like_the_memory_reference(store: Any) -> None:
    """After every merge in the table, every query gives the reference's answer (memory, SQLite, PostgreSQL)."""
    reference = MemoryGraphStore()
    for number, (what, items) in enumerate(STEPS):
        for g in (store.graph, reference):
            (g.merge_nodes if what == "nodes" else g.merge_edges)(items)
        assert _answers(store.graph) == _answers(reference), f"after step {number}"


def test_merge_twice_changes_nothing_and_merges_props(store: Any) -> None:
    """Writing the same nodes and edges again keeps the counts; new props are added key by key, old ones kept."""
    g = store.graph
    for _ in range(2):
        g.merge_nodes([Node(D, "a", {"tier": 1}), Node(D, "b", {"tier": 2})])
        g.merge_edges([Edge(A, "FEEDS", B, {"type": "STREAM"})])
    assert g.counts() == (2, 1)
    g.merge_nodes([Node(D, "a", {"owner": "x"}, 42)])
    g.merge_edges([Edge(A, "FEEDS", B, {"job": "j"})])
    assert g.counts() == (2, 1)
    assert g.node(A) == Node(D, "a", {"tier": 1, "owner": "x"}, 42)
    assert g.edges_from([A]) == [Edge(A, "FEEDS", B, {"type": "STREAM", "job": "j"})]


def test_traverse_stops_at_max_depth(store: Any) -> None:
    """A chain of 6 FEEDS edges walked with max_depth 3 reaches exactly 3 nodes, each at its hop count."""
    chain = [f"Dataset:d{i}" for i in range(7)]
    store.graph.merge_edges([Edge(chain[i], "FEEDS", chain[i + 1]) for i in range(6)])
    store.graph.merge_edges([Edge(chain[3], "FEEDS", chain[0])])  # a cycle back is not walked twice
    reached = [(nid, depth) for nid, depth, _ in traverse(store.graph, [chain[0]], ["FEEDS"], max_depth=3)]
    assert reached == [(chain[1], 1), (chain[2], 2), (chain[3], 3)]


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[Any]:
    s = open_store(sql_url)
    try:
        yield s
    finally:
        s.close()


def _statements(engine: Engine) -> list[str]:
    """SQL statements run from now on (BEGIN and COMMIT left out)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if sql.split(maxsplit=1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def test_edges_from_is_one_query_per_call_and_chunks_big_frontiers(sql_store: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """One SELECT for a whole frontier; past the chunk size, one per chunk, with the same answer."""
    g = sql_store.graph
    g.merge_edges([Edge(f"Dataset:n{i}", "FEEDS", f"Dataset:n{i + 1}") for i in range(10)])
    frontier = [f"Dataset:n{i}" for i in range(10)]
    seen = _statements(sql_store.engine)
    whole = g.edges_from(frontier, ["FEEDS"])
    assert len(seen) == 1
    assert len(whole) == 10
    monkeypatch.setattr(sql_graph, "CHUNK", 4)
    seen.clear()
    assert g.edges_from(frontier, ["FEEDS"]) == whole
    assert len(seen) == 3


def test_a_merge_batch_is_one_read_and_one_write_each(sql_store: Any) -> None:
    """merge_nodes of new and existing nodes: one SELECT, one INSERT (executemany), one UPDATE (executemany)."""
    g = sql_store.graph
    g.merge_nodes([Node(D, f"n{i}", {"i": i}) for i in range(5)])
    seen = _statements(sql_store.engine)
    g.merge_nodes([Node(D, f"n{i}", {"j": i}) for i in range(10)])
    verbs = sorted(s.split()[0].upper() for s in seen)
    assert verbs == ["INSERT", "SELECT", "UPDATE"]
    assert g.counts() == (10, 0)


def test_graph_writes_join_the_store_transaction(sql_store: Any) -> None:
    """Graph merges inside store.transaction() commit or roll back with the other repositories."""
    def unit_of_work() -> None:
        with sql_store.transaction():
            sql_store.graph.merge_nodes([Node(D, "a")])
            sql_store.checkpoints.put("x", 1)
            assert sql_store.graph.counts() == (1, 0)  # reads its own write
            raise RuntimeError

    with pytest.raises(RuntimeError):
        unit_of_work()
    assert sql_store.graph.counts() == (0, 0)
    assert sql_store.checkpoints.get("x") is None
    with sql_store.transaction():
        sql_store.graph.merge_edges([Edge(A, "FEEDS", B)])
    assert sql_store.graph.counts() == (0, 1)


def test_migration_0002_adds_the_graph_tables_and_can_be_undone(sql_store: Any) -> None:
    """Revision 0002 exists; downgrading to 0001 drops only the graph tables, upgrading brings them back."""
    assert ScriptDirectory.from_config(alembic_config()).get_revision("0002") is not None
    with sql_store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
        tables = set(inspect(conn).get_table_names())
        assert "graph_nodes" not in tables
        assert "evidence" in tables
        command.upgrade(alembic_config(conn), "head")
        assert {"graph_nodes", "graph_edges"} <= set(inspect(conn).get_table_names())
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []  # graph_schema.py == 0002
    sql_store.graph.merge_nodes([Node(D, "a")])
    assert sql_store.graph.counts() == (1, 0)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_url", ["postgresql"], indirect=True)
def test_a_row_inserted_by_another_writer_meanwhile_is_merged(sql_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: if another writer inserts a node or edge between our SELECT and INSERT, props still merge."""
    g = sql_store.graph
    g.merge_nodes([Node(D, "a", {"tier": 1, "owner": "x"}, 5)])
    g.merge_edges([Edge(A, "FEEDS", B, {"type": "STREAM"})])
    monkeypatch.setattr(g, "_rows", lambda *_a: {})  # our SELECT "ran before" the other writer's insert
    monkeypatch.setattr(g, "_edge_rows", lambda *_a: {})
    g.merge_nodes([Node(D, "a", {"tier": 2})])
    g.merge_edges([Edge(A, "FEEDS", B, {"job": "j"})])
    monkeypatch.undo()
    assert g.node(A) == Node(D, "a", {"tier": 2, "owner": "x"}, 5)
    assert g.edges_from([A]) == [Edge(A, "FEEDS", B, {"type": "STREAM", "job": "j"})]
