"""RCA latency on a graph of >= 1,000,000 edges: `analyze_incident` for Scenario 1's INC-7721.

    .venv/bin/python -m benchmarks.bench_rca                 # memory graph, then SQLite (a few minutes to load)
    .venv/bin/python -m benchmarks.bench_rca --no-sql        # memory graph only
    .venv/bin/python -m benchmarks.bench_rca --scale 0.1     # a tenth of the graph, for a quick look

The graph (seeded, deterministic): the example's orders datasets and Scenario 1's chain (tests/rca/builders.py),
plus 2,000 datasets in FEEDS trees of ten, 500 services with 6 deployments each over 30 days (so about eight
other services deploy in any 2 h window), 100k failure signatures INTRODUCED by them, each CAUSING two of 150k
signals that TRIGGER 50k incidents, and 100k job runs (READ_FROM, WROTE_TO, ENCOUNTERED) EXECUTED by 20k
DAG runs. Generation and loading are not timed; each timed run is one full `analyze_incident` (best and
median of --runs, after one warm-up), with the graph's share as RCA's own timing reports it. Target: 100 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from tests.conftest import EXAMPLE
from tests.rca import builders as b

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.graph import model as gm
from signal_factory.graph.model import Edge, Node, node_id
from signal_factory.graph.ports import GraphStore
from signal_factory.model.timefmt import iso_ms
from signal_factory.rca.analyze import analyze_incident
from signal_factory.stores.memory import MemoryStore

TARGET_MS = 100.0
DAY = 86_400_000
T_END = b.ms("2024-01-15T12:00:00.000Z")
T_START = T_END - 30 * DAY
BATCH = 50_000
_SHAPE = [(0, 1, "STREAM"), (1, 2, "BATCH"), (2, 3, "BATCH"), (2, 4, "BATCH"), (3, 5, "BATCH"), (4, 6, "BATCH"),
          (5, 7, "DASHBOARD"), (6, 8, "BATCH"), (8, 9, "DASHBOARD")]
_TYPES = ["kafka_topic", "delta_table", "delta_table", "delta_table", "delta_table", "delta_table", "delta_table",
          "dashboard", "pipeline", "dashboard"]
_CODES = ["MISSING_FIELD", "TYPE_MISMATCH", "INVALID_FORMAT", "UNKNOWN_ENUM", "OUT_OF_RANGE"]


def noise(scale: float, seed: int = 7) -> Iterator[tuple[list[Node], list[Edge]]]:
    """The synthetic graph in batches of nodes and edges (in that order within a batch)."""
    rnd = random.Random(seed)

    def n(count: int) -> int:
        return max(1, int(count * scale))

    datasets = [f"urn:dp:bench{i // 10}:t{i % 10}" for i in range(n(2000) // 10 * 10)]
    services = [f"svc-{k:03d}" for k in range(n(500))]
    nodes: list[Node] = []
    edges: list[Edge] = []
    for i, urn in enumerate(datasets):
        nodes.append(Node(gm.DATASET, urn, {"urn": urn, "name": urn.rsplit(":", 2)[-2] + "." + urn.rsplit(":", 1)[1],
                                            "tier": rnd.choice((1, 2, 3)), "type": _TYPES[i % 10],
                                            "owner": f"team-{i // 100}"}))
        edges.append(Edge(node_id(gm.DATASET, urn), gm.OWNED_BY, node_id(gm.SERVICE, services[i % len(services)])))
    for g0 in range(0, len(datasets), 10):
        edges += [Edge(node_id(gm.DATASET, datasets[g0 + a]), gm.FEEDS, node_id(gm.DATASET, datasets[g0 + c]),
                       {"type": t, "job": f"job-{g0 + c}"}) for a, c, t in _SHAPE]
    deploys: list[str] = []
    for svc in services:
        nodes.append(Node(gm.SERVICE, svc, {"name": svc}))
        for v in range(6):
            at = rnd.randrange(T_START, T_END)
            d = Node(gm.DEPLOYMENT, gm.deployment_key(svc, f"v1.{v}"), {
                "service": svc, "version": f"v1.{v}", "deployed_at": iso_ms(at), "source": "marker",
                "inferred": False, "commit": f"{rnd.getrandbits(28):07x}"}, at)
            nodes.append(d)
            deploys.append(d.id)
            edges.append(Edge(node_id(gm.SERVICE, svc), gm.DEPLOYED, d.id, {"at": iso_ms(at)}))
    yield nodes, edges
    signals = [f"sig-bench-{i:06d}" for i in range(n(150_000))]
    incidents = [f"INC-B{i:05d}" for i in range(n(50_000))]
    nodes, edges = [], []
    for i, sig in enumerate(signals):
        at = rnd.randrange(T_START, T_END)
        urn = rnd.choice(datasets)
        nodes.append(Node(gm.SIGNAL, sig, {"type": "CONTRACT_BREACH", "state": "CRITICAL", "timestamp": iso_ms(at),
                                           "provisional": False}, at))
        edges.append(Edge(node_id(gm.SIGNAL, sig), gm.AFFECTS, node_id(gm.DATASET, urn)))
        incident = incidents[i // 3 % len(incidents)]
        edges.append(Edge(node_id(gm.SIGNAL, sig), gm.TRIGGERED, node_id(gm.INCIDENT, incident)))
        if len(edges) >= BATCH:
            yield nodes, edges
            nodes, edges = [], []
    for i, inc in enumerate(incidents):
        at = rnd.randrange(T_START, T_END)
        nodes.append(Node(gm.INCIDENT, inc, {"severity": "SEV-2", "status": "OPEN", "created_at": iso_ms(at)}, at))
        if i % BATCH == 0:
            yield nodes, edges
            nodes, edges = [], []
    for i in range(n(100_000)):
        urn = rnd.choice(datasets)
        code = f"{rnd.choice(_CODES)}:field_{i}"
        at = rnd.randrange(T_START, T_END)
        fs = Node(gm.FAILURE_SIGNATURE, gm.signature_key(code, urn), {
            "reason_code": code, "dataset_urn": urn, "first_seen": iso_ms(at), "first_seen_ms": at,
            "count": 10 + i % 500, "first_evidence": f"evd-bench-{i}", "level": "FAIL"}, at)
        nodes.append(fs)
        edges.append(Edge(rnd.choice(deploys), gm.INTRODUCED, fs.id, {"first_evidence": f"evd-bench-{i}",
                                                                       "timestamp": iso_ms(at)}))
        edges += [Edge(fs.id, gm.CAUSED, node_id(gm.SIGNAL, rnd.choice(signals))) for _ in range(2)]
        run = node_id(gm.JOB_RUN, f"run-bench-{i:06d}")
        nodes.append(Node(gm.JOB_RUN, f"run-bench-{i:06d}", {"job_name": f"job-{i % 2000}", "records_failed": 5},
                          at))
        edges += [Edge(run, gm.READ_FROM, node_id(gm.DATASET, rnd.choice(datasets))),
                  Edge(run, gm.WROTE_TO, node_id(gm.DATASET, urn)), Edge(run, gm.ENCOUNTERED, fs.id),
                  Edge(node_id(gm.DAG_RUN, f"dag-bench-{i // 5:05d}"), gm.EXECUTED, run)]
        if i % 5 == 0:
            nodes.append(Node(gm.DAG_RUN, f"dag-bench-{i // 5:05d}", {"dag_id": f"dag-{i % 300}"}, at))
        if len(edges) >= BATCH:
            yield nodes, edges
            nodes, edges = [], []
    yield nodes, edges


def load(store: Any, scale: float) -> float:
    """Scenario 1 plus the noise into `store` (its .graph, .evidence, .incidents); seconds taken."""
    t0 = time.perf_counter()
    b.scenario1(load_control_plane(EXAMPLE), store=store)
    graph: GraphStore = store.graph
    for nodes, edges in noise(scale):
        with store.transaction():
            graph.merge_nodes(nodes)
            graph.merge_edges(edges)
    return time.perf_counter() - t0


def measure(name: str, store: Any, runs: int) -> dict[str, float]:
    nodes, edges = store.graph.counts()

    def analyze() -> Any:
        return analyze_incident("INC-7721", graph=store.graph, evidence=store.evidence, incidents=store.incidents,
                                now=b.ms(b.NOW))

    first = analyze()  # warm-up, and the check that the needle is found in the haystack
    assert (first.root_cause.service, first.root_cause.version) == ("orders-svc", "v3.17"), first.root_cause
    totals, graphs = [], []
    gc.collect()
    for _ in range(runs):
        report = analyze()
        totals.append(report.timing.total_ms)
        graphs.append(report.timing.graph_ms)
    res = {"nodes": nodes, "edges": edges, "best": min(totals), "median": statistics.median(totals),
           "graph_best": min(graphs), "graph_median": statistics.median(graphs), "calls": report.timing.graph_calls,
           "alternatives": len(first.alternatives)}
    verdict = "OK" if res["median"] <= TARGET_MS else "OVER"
    print(f"{name:<8} {nodes:>9,} nodes {edges:>10,} edges | total best {res['best']:7.1f} ms, median "
          f"{res['median']:7.1f} ms | graph best {res['graph_best']:7.1f} ms, median {res['graph_median']:7.1f} ms "
          f"| {res['calls']} queries, {res['alternatives']} alternatives weighed | {verdict} vs {TARGET_MS:.0f} ms")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="graph size factor (1.0 = >= 1M edges)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sql", action=argparse.BooleanOptionalAction, default=True, help="also SQLite")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.runs} runs after one warm-up")
    mem = MemoryStore()
    seconds = load(mem, args.scale)
    print(f"memory graph loaded in {seconds:.1f} s (not timed below)")
    measure("memory", mem, args.runs)
    del mem
    gc.collect()
    if args.sql:
        from signal_factory.stores.sql.database import open_store

        with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/g.db") as store:
            seconds = load(store, args.scale)
            size = os.path.getsize(f"{tmp}/g.db") / 1e6
            print(f"sqlite graph loaded in {seconds:.1f} s, {size:,.0f} MB (not timed below)")
            measure("sqlite", store, args.runs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
