"""Export the causal graph: openCypher statements (Neo4j `cypher-shell`, Amazon Neptune openCypher) or JSON.

Cypher: one statement per line, nodes first, then placeholders for edge endpoints that were never
written as nodes (so no edge is lost), then edges:

    MERGE (n:Service {id: "Service:orders-svc"}) SET n:Producer, n += {kind: "Service", key: "orders-svc", ...};
    MATCH (a:Deployment {id: "..."}), (b:FailureSignature {id: "..."}) MERGE (a)-[r:INTRODUCED]->(b) SET r += {...};

Property values are Cypher literals: strings (escaped), integers, floats, booleans. Lists and maps are
JSON-encoded into strings: Neptune stores neither map nor list properties (it reads lists as sets).
Null values are left out. Re-running the file changes nothing (MERGE and `+=`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from signal_factory.graph.model import JOB_RUN, SERVICE, Edge, Node, split_id
from signal_factory.graph.ports import GraphStore

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
#: Characters written as escapes: the named ones, other control characters, and lone surrogates.
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f\ud800-\udfff]')
_INT64 = (-(2**63), 2**63 - 1)
_RESERVED = ("id", "kind", "key", "ts_ms")


def cypher_string(text: str) -> str:
    """A double-quoted Cypher string literal for `text`."""
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text) + '"'


def cypher_name(name: str) -> str:
    """A label, relationship type or property key: bare if it is a plain identifier, else `back-quoted`."""
    return name if _IDENT.match(name) else "`" + name.replace("`", "``") + "`"


def cypher_value(value: Any) -> str | None:
    """A Cypher literal for a property value (None: leave the property out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if _INT64[0] <= value <= _INT64[1] else cypher_string(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return cypher_string(str(value))
        text = repr(value)
        if "e" in text or "E" in text:  # openCypher's exponent takes no '+', and needs digits before it
            mantissa, _, exp = text.lower().partition("e")
            text = f"{mantissa}e{int(exp)}"
        return text
    if isinstance(value, str):
        return cypher_string(value)
    if isinstance(value, dict | list | tuple | set | frozenset):
        data = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return cypher_string(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str))
    return cypher_string(str(value))


def cypher_map(props: dict[str, Any]) -> str:
    parts = []
    for k, v in props.items():
        literal = cypher_value(v)
        if literal is not None and k:
            parts.append(f"{cypher_name(str(k))}: {literal}")
    return "{" + ", ".join(parts) + "}"


def labels(node: Node) -> list[str]:
    """openCypher labels: the kind; Service also Producer; a Spark JobRun also SparkRun."""
    out = [node.kind]
    if node.kind == SERVICE:
        out.append("Producer")
    if node.kind == JOB_RUN and node.props.get("engine") == "spark":
        out.append("SparkRun")
    return out


def _node_statement(nid: str, kind: str, key: str, props: dict[str, Any], label_list: list[str],
                    ts_ms: int | None) -> str:
    """MERGE on the kind label and id alone, then SET the extra labels: a node first written with fewer
    labels (a JobRun before it was known to be Spark) is found again, never duplicated."""
    fields = {k: v for k, v in props.items() if k not in _RESERVED}
    fields.update(kind=kind, key=key, ts_ms=ts_ms)
    extra = "".join(f"n:{cypher_name(lb)}, " for lb in label_list[1:])
    return f"MERGE (n:{cypher_name(kind)} {{id: {cypher_string(nid)}}}) SET {extra}n += {cypher_map(fields)};"


def _endpoint(nid: str) -> str:
    kind, _ = split_id(nid)
    return f"{cypher_name(kind)} {{id: {cypher_string(nid)}}}"


def to_cypher(graph: GraphStore) -> Iterator[str]:
    """The whole graph as openCypher statements, one per line (no trailing newline in each)."""
    written: set[str] = set()
    for n in graph.iter_nodes():
        written.add(n.id)
        yield _node_statement(n.id, n.kind, n.key, n.props, labels(n), n.ts_ms)
    edges = list(graph.iter_edges())
    for nid in sorted({x for e in edges for x in (e.src, e.dst)} - written):
        kind, key = split_id(nid)
        yield _node_statement(nid, kind, key, {}, [kind], None)
    for e in edges:
        body = f"MATCH (a:{_endpoint(e.src)}), (b:{_endpoint(e.dst)}) MERGE (a)-[r:{cypher_name(e.type)}]->(b)"
        yield f"{body} SET r += {cypher_map(e.props)};" if e.props else f"{body};"


def to_json(graph: GraphStore) -> dict[str, list[dict[str, Any]]]:
    """{nodes: [{id, kind, key, props, ts_ms?}], edges: [{src, type, dst, props}]}, ids in order."""
    nodes = []
    for n in graph.iter_nodes():
        doc: dict[str, Any] = {"id": n.id, "kind": n.kind, "key": n.key, "props": n.props}
        if n.ts_ms is not None:
            doc["ts_ms"] = n.ts_ms
        nodes.append(doc)
    edges = [{"src": e.src, "type": e.type, "dst": e.dst, "props": e.props} for e in graph.iter_edges()]
    return {"nodes": nodes, "edges": edges}


def from_json(doc: dict[str, Any]) -> tuple[list[Node], list[Edge]]:
    """What `to_json` wrote, as nodes and edges to merge into a graph store."""
    nodes = [Node(d["kind"], d["key"], dict(d.get("props") or {}), d.get("ts_ms")) for d in doc.get("nodes", [])]
    edges = [Edge(d["src"], d["type"], d["dst"], dict(d.get("props") or {})) for d in doc.get("edges", [])]
    return nodes, edges

