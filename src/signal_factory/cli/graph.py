"""`graph export|show` and `deploy`: the causal graph in the store, and deployment markers into it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signal_factory.cli.options import ConfigOpt, DbOpt, JsonOpt, open_cli_store
from signal_factory.errors import SignalFactoryError

if TYPE_CHECKING:
    from signal_factory.graph.model import Edge

graph_app = typer.Typer(no_args_is_help=True, help="Export and inspect the causal graph.")
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, emoji=False)
_DEFAULT_CONFIG = Path("examples/orders")
_SUMMARY_KEYS = ("name", "version", "reason_code", "type", "state", "severity", "tier", "count", "deployed_at",
                 "first_seen", "timestamp", "job_name")


class ExportFormat(StrEnum):
    cypher = "cypher"
    json = "json"


@graph_app.command("export")
def export(fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="cypher (Neo4j/Neptune) or json.")]
           = ExportFormat.cypher,
           out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")] = None,
           db: DbOpt = None) -> None:
    """The whole graph as openCypher MERGE statements (one per line) or one JSON document."""
    from signal_factory.graph.export import to_cypher, to_json

    store = open_cli_store(db)
    try:
        if fmt is ExportFormat.json:
            text = json.dumps(to_json(store.graph), indent=2, ensure_ascii=False) + "\n"
        else:
            text = "".join(f"{line}\n" for line in to_cypher(store.graph))
        nodes, edges = store.graph.counts()
    finally:
        store.close()
    if out_file is None or str(out_file) == "-":
        sys.stdout.write(text)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {nodes:,} nodes and {edges:,} edges to {out_file}")


@graph_app.command("show")
def show(node: Annotated[str, typer.Argument(
             help="Node id `Kind:key` (e.g. Dataset:urn:dp:orders:created), or just the key.")],
         depth: Annotated[int, typer.Option("--depth", "-d", min=1, max=6, help="Hops in each direction.")] = 1,
         db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A node and its neighbourhood: edges out of and into it, up to --depth hops."""
    from signal_factory.graph.model import EDGE_TYPES, NODE_KINDS, node_id
    from signal_factory.graph.ports import traverse

    store = open_cli_store(db)
    try:
        g = store.graph
        candidates = [node, *(node_id(k, node) for k in NODE_KINDS)]
        found = g.nodes_by_id(candidates)
        nid = next((c for c in candidates if c in found), node)
        types = list(EDGE_TYPES)
        rows: list[tuple[str, int, Edge]] = [("out", d, e) for _, d, e in traverse(g, [nid], types, "out", depth)]
        rows += [("in", d, e) for _, d, e in traverse(g, [nid], types, "in", depth)]
        if nid not in found and not rows:
            raise SignalFactoryError(f"no node {node!r} in the graph at {getattr(store, 'url', 'the store')}; "
                                     f"ids look like Kind:key with Kind one of {', '.join(NODE_KINDS)} "
                                     "(e.g. Dataset:urn:dp:orders:created); `graph export` lists them all")
        others = g.nodes_by_id([e.dst if way == "out" else e.src for way, _, e in rows])
    finally:
        store.close()
    center = found.get(nid)
    if as_json:
        for way, d, e in rows:
            other = e.dst if way == "out" else e.src
            sys.stdout.write(json.dumps({"direction": way, "depth": d, "src": e.src, "type": e.type, "dst": e.dst,
                                         "edge_props": e.props, "node": other,
                                         "node_props": others[other].props if other in others else None}) + "\n")
        return
    out.print(f"[bold]{escape(nid)}[/bold] {escape(json.dumps(center.props)) if center else '(only edges)'}")
    table = Table(title=f"Neighbourhood ({len(rows)} edges, depth {depth})", title_justify="left")
    for col in ("dir", "hop", "edge", "node", "summary", "edge props"):
        table.add_column(col, overflow="fold")
    for way, d, e in rows:
        other = e.dst if way == "out" else e.src
        props = others[other].props if other in others else {}
        summary = ", ".join(f"{k}={props[k]}" for k in _SUMMARY_KEYS if k in props)
        table.add_row("→" if way == "out" else "←", str(d), e.type, escape(other), escape(summary),
                      escape(json.dumps(e.props)) if e.props else "")
    out.print(table)


def deploy(service: Annotated[str | None, typer.Option("--service", "-s", help="Service name (producer id).")] = None,
           version: Annotated[str | None, typer.Option("--version", "-v", help="Version that went live.")] = None,
           at: Annotated[str | None, typer.Option(help="When it went live, ISO-8601 (default: now).")] = None,
           commit: Annotated[str | None, typer.Option(help="Commit SHA.")] = None,
           description: Annotated[str | None, typer.Option(help="What changed.")] = None,
           file: Annotated[Path | None, typer.Option("--file", help="JSON-lines file of markers instead.")] = None,
           config: ConfigOpt = _DEFAULT_CONFIG, db: DbOpt = None) -> None:
    """Record deployment markers in the graph (RCA links failures that follow to them)."""
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.graph.deployments import DeploymentMarker, load_markers, markers_to_graph
    from signal_factory.graph.writer import GraphWriter
    from signal_factory.model.timefmt import iso_ms, parse_iso_ms

    if file is not None:
        if service or version:
            raise SignalFactoryError("give either --file or --service/--version, not both")
        markers = load_markers(file)
    elif service and version:
        if at is not None and parse_iso_ms(at) is None:
            raise SignalFactoryError(f"--at {at!r} is not an ISO-8601 time (e.g. 2024-01-15T09:57:45Z)")
        when = at or iso_ms(int(datetime.now(UTC).timestamp() * 1000))
        markers = [DeploymentMarker(service=service, version=version, at=when, commit=commit,
                                    description=description)]
    else:
        raise SignalFactoryError("give --service and --version (and optionally --at, --commit, --description), "
                                 "or --file with one JSON marker per line")
    cp = load_control_plane(config) if config != _DEFAULT_CONFIG or config.is_dir() else None
    if cp is not None:
        producers = set(cp.producers) | {p for ds in cp.datasets.values() for p in ds.producers}
        for m in markers:
            if m.service not in producers:
                err.print(f"[yellow]warning[/yellow] {escape(m.service)} is not a producer in {config} "
                          f"(known: {', '.join(sorted(producers)) or 'none'}); recording it anyway")
    store = open_cli_store(db, create=True)
    try:
        with store.transaction():
            if cp is not None:
                writer = GraphWriter(store.graph, cp)
                writer.write_control_plane()
                writer.write_deployments(markers)
            else:
                nodes, edges = markers_to_graph(markers)
                store.graph.merge_nodes(nodes)
                store.graph.merge_edges(edges)
    finally:
        store.close()
    for m in markers:
        extra = f" commit {m.commit}" if m.commit else ""
        err.print(f"recorded deployment {escape(m.service)} {escape(m.version)} at {m.at}{escape(extra)}")
