"""`GraphWriter`: turns control plane, deployments, evidence, signals, incidents and batch runs into the
causal graph (seed 2.4, Scenario 1 Step 4, Scenario 2 Step 7).

Each call aggregates its input in Python, reads what it must in one `nodes_by_id`, and writes with one
`merge_nodes` and one `merge_edges`. Counts on FailureSignature nodes accumulate: pass each evidence
once (the replay passes only newly stored evidence). First-evidence facts (`first_seen`,
`first_evidence`, INTRODUCED, PRODUCED_DRIFT) are written once, when the signature is first seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph import model as g
from signal_factory.graph.deployments import (
    OTEL,
    TRUSTED_CONFIDENCE,
    DeploymentMarker,
    infer_deployments,
    markers_to_graph,
    versions_seen,
)
from signal_factory.graph.model import Edge, Node, deployment_key, node_id, signature_key
from signal_factory.graph.ports import GraphStore, traverse
from signal_factory.graph.topology import processor_graph
from signal_factory.model.evidence import FAIL, G4_CONTRACT, G5_PII, PASS, SKIP, WARN, Evidence
from signal_factory.model.incidents import Incident
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.model import OK, BatchRunTotals, DatasetChecks, Signal

_LEVEL = {WARN: 1, FAIL: 2}
#: How far up the FEEDS edges a batch run's drift is traced to the dataset that showed it first.
UPSTREAM_HOPS = 3
#: Service node property: the first version seen of a service without a marker (its baseline, not a deploy).
BASELINE_VERSION = "baseline_version"


@dataclass
class _Sig:
    """One (reason code, dataset) in one batch of evidence."""

    code: str
    urn: str
    first: Evidence
    first_ms: int
    first_level: str
    last_ms: int
    level: str
    count: int = 0


@dataclass
class _Run:
    node: Node
    edges: list[Edge] = field(default_factory=list)


def _ms(text: str | None) -> int | None:
    return parse_iso_ms(text) if text else None


def _code_levels(ev: Evidence) -> dict[str, str]:
    """WARN or FAIL per reason code: the result of the gate that reported it (else the evidence's)."""
    by_gate = {gr.gate: gr.result for gr in ev.validation.gates}
    own = {gr.reason_code: gr.result for gr in ev.validation.gates if gr.reason_code}
    out: dict[str, str] = {}
    for code in ev.validation.reason_codes:
        gate = G5_PII if code.startswith("PII_") else G4_CONTRACT
        level = own.get(code) or by_gate.get(gate, ev.validation.result)
        out[code] = level if level in _LEVEL else ev.validation.result
    return out


def _signature_props(code: str, urn: str) -> dict[str, Any]:
    kind, _, rest = code.partition(":")
    fld, _, value = rest.partition(":")
    props: dict[str, Any] = {"reason_code": code, "dataset_urn": urn, "kind": kind}
    if fld:
        props["field"] = fld
    if value and kind == "UNKNOWN_ENUM":
        props["new_value"] = value
    return props


def _compact(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


class GraphWriter:
    def __init__(self, graph: GraphStore, cp: ControlPlane) -> None:
        self.graph = graph
        self.cp = cp
        self._deployed: set[tuple[str, str]] = set()  # (service, version) with a Deployment node
        self._baselines: set[tuple[str, str]] = set()  # first versions seen of a service: not deploys
        self._checked: set[str] = set()  # services whose deployments and last version were read
        self._last: dict[str, tuple[int, str]] = {}  # service -> (last event ms, version)

    def reset(self) -> None:
        """Forget what was learnt from the graph (call after a transaction that wrote through it rolled back)."""
        self._deployed.clear()
        self._baselines.clear()
        self._checked.clear()
        self._last.clear()

    # -- configuration and deployments ---------------------------------------------------------------

    def write_control_plane(self) -> None:
        """Dataset nodes, FEEDS, producer Service nodes and Dataset-[OWNED_BY]->Service. Idempotent."""
        nodes: list[Node] = []
        edges: list[Edge] = []
        for spec in self.cp.producers.values():
            nodes.append(Node(g.SERVICE, spec.id, _compact({"name": spec.id, "owner": spec.owner, "repo": spec.repo,
                                                            "description": spec.description})))
        for ds in self.cp.datasets.values():
            did = node_id(g.DATASET, ds.urn)
            nodes.append(Node(g.DATASET, ds.urn, _compact({
                "urn": ds.urn, "name": ds.name or ds.urn, "tier": ds.tier, "type": ds.type, "owner": ds.owner,
                "classification": ds.classification, "consumers": list(ds.consumers)})))
            edges += [Edge(did, g.FEEDS, node_id(g.DATASET, f.to), _compact({"type": f.type, "job": f.job}))
                      for f in ds.feeds]
            for producer in ds.producers:
                nodes.append(Node(g.SERVICE, producer, {"name": producer}))
                edges.append(Edge(did, g.OWNED_BY, node_id(g.SERVICE, producer)))
        self._write(nodes, edges)

    def write_deployments(self, markers: Iterable[DeploymentMarker]) -> None:
        markers = list(markers)
        self._write(*markers_to_graph(markers))
        self._deployed |= {(m.service, m.version) for m in markers}

    def on_span_versions(self, versions: dict[tuple[str, str], int]) -> list[str]:
        """(service, version) -> earliest span start (ms) seen with it on OTLP spans: a version the service
        never showed before becomes a Deployment (source "otel", first_seen); one with a Deployment already
        is confirmed (`otel_first_seen` added, source and time kept, so a marker still wins); the first
        version of a service never seen is its baseline. Returns the Deployment ids created."""
        if not versions:
            return []
        services = sorted({s for s, _ in versions})
        ids = [node_id(g.SERVICE, s) for s in services]
        existing = self.graph.nodes_by_id([*ids, *(node_id(g.DEPLOYMENT, deployment_key(*p)) for p in versions)])
        known: dict[str, set[str]] = {s: set() for s in services}
        for e in self.graph.edges_from(ids, [g.DEPLOYED]):
            service = e.src.partition(":")[2]
            known[service].add(e.dst.partition(":")[2][len(service) + 1:])
        last: dict[str, object] = {}
        for s in services:
            node = existing.get(node_id(g.SERVICE, s))
            props = node.props if node is not None else {}
            last[s] = props.get("otel_version")
            known[s] |= {v for v in (props.get(BASELINE_VERSION), props.get("last_version"), props.get("otel_version"))
                         if isinstance(v, str)}
        nodes: list[Node] = []
        service_props: dict[str, dict[str, Any]] = {}
        created: list[DeploymentMarker] = []
        for (service, version), ms in sorted(versions.items(), key=lambda kv: (kv[1], kv[0])):
            seen = iso_ms(ms)
            dep = existing.get(node_id(g.DEPLOYMENT, deployment_key(service, version)))
            if dep is not None:
                if "otel_first_seen" not in dep.props:
                    nodes.append(Node(g.DEPLOYMENT, dep.key, {"otel_first_seen": seen}))
            elif not known[service]:
                service_props.setdefault(service, {})[BASELINE_VERSION] = version
            elif version not in known[service]:
                created.append(DeploymentMarker(service=service, version=version, at=seen, source=OTEL,
                                                first_seen=seen))
            known[service].add(version)
            if last[service] != version:  # most exports repeat the last version: no write then
                last[service] = service_props.setdefault(service, {})["otel_version"] = version
        nodes += [Node(g.SERVICE, s, {"name": s, **p}) for s, p in sorted(service_props.items())]
        more, edges = markers_to_graph(created)
        self._write(nodes + more, edges)
        self._deployed |= {(m.service, m.version) for m in created}
        return [f"{g.DEPLOYMENT}:{deployment_key(m.service, m.version)}" for m in created]

    # -- evidence ------------------------------------------------------------------------------------

    def on_evidence(self, evidence: Sequence[Evidence]) -> None:
        """FailureSignature nodes for non-PASS evidence, their attribution (INTRODUCED from a deployment,
        inferred if need be; PRODUCED_DRIFT from the producer for WARN signatures), batch runs, and the
        stream processors that emitted evidence (`graph/topology.py`)."""
        if not evidence:
            return
        sigs = self._aggregate(evidence)
        pairs = versions_seen(evidence)
        services = {s for s, _ in pairs} - self._checked
        candidates = pairs - self._deployed
        existing = self.graph.nodes_by_id(
            [*sigs, *(node_id(g.DEPLOYMENT, deployment_key(*p)) for p in sorted(candidates)),
             *(node_id(g.SERVICE, s) for s in sorted(services))])
        self._load_services(services, existing)
        self._deployed |= {p for p in candidates if node_id(g.DEPLOYMENT, deployment_key(*p)) in existing}
        inferred = infer_deployments(evidence, self._deployed | self._baselines)
        self._deployed |= {(m.service, m.version) for m in inferred}
        baselines = pairs - self._deployed - self._baselines
        self._baselines |= baselines
        nodes, edges = markers_to_graph(inferred)
        # The baseline is stored with the batch, so a writer that starts later (a restart after a crash,
        # another API request) knows it: a rollback to it is then no new deployment, as in one long run.
        nodes += [Node(g.SERVICE, s, {"name": s, BASELINE_VERSION: v}) for s, v in sorted(baselines)]
        nodes += self._service_updates(evidence)
        for sid, s in sigs.items():
            self._signature(sid, s, existing.get(sid), nodes, edges)
        for run in self._runs(evidence, sigs).values():
            nodes.append(run.node)
            edges += run.edges
        more, links = processor_graph(evidence, self.cp)
        self._write(nodes + more, edges + links)

    def _aggregate(self, evidence: Sequence[Evidence]) -> dict[str, _Sig]:
        out: dict[str, _Sig] = {}
        for ev in evidence:
            if ev.validation.result in (PASS, SKIP) or not ev.validation.reason_codes:
                continue
            ms = _ms(ev.event_time()) or _ms(ev.timestamp)
            if ms is None:
                continue
            for code, level in _code_levels(ev).items():
                sid = node_id(g.FAILURE_SIGNATURE, signature_key(code, ev.dataset_urn))
                s = out.get(sid)
                if s is None:
                    s = out[sid] = _Sig(code, ev.dataset_urn, ev, ms, level, ms, level)
                elif (ms, ev.evidence_id) < (s.first_ms, s.first.evidence_id):
                    s.first, s.first_ms, s.first_level = ev, ms, level
                s.count += 1
                s.last_ms = max(s.last_ms, ms)
                s.level = max(s.level, level, key=_LEVEL.__getitem__)
        return out

    def _load_services(self, services: set[str], existing: dict[str, Node]) -> None:
        """First sight of a service in this writer: its recorded deployments, baseline and last version."""
        if not services:
            return
        ids = [node_id(g.SERVICE, s) for s in sorted(services)]
        for e in self.graph.edges_from(ids, [g.DEPLOYED]):
            service = e.src.partition(":")[2]
            self._deployed.add((service, e.dst.partition(":")[2][len(service) + 1:]))
        for s in services:
            node = existing.get(node_id(g.SERVICE, s))
            if node is None:
                continue
            baseline, version = node.props.get(BASELINE_VERSION), node.props.get("last_version")
            if isinstance(baseline, str):
                self._baselines.add((s, baseline))
            if isinstance(version, str):
                self._baselines.add((s, version))  # graphs written before `baseline_version` existed
                self._last[s] = (int(node.props.get("last_seen_ms", 0)), version)
        self._checked |= services

    def _service_updates(self, evidence: Sequence[Evidence]) -> list[Node]:
        """Service nodes whose last seen producer version moved forward in event time."""
        latest: dict[str, tuple[int, str]] = {}
        for ev in evidence:
            p = ev.producer
            if p is None or not p.version or p.confidence not in TRUSTED_CONFIDENCE:
                continue
            ms = _ms(ev.event_time())
            if ms is not None and (p.id not in latest or ms > latest[p.id][0]):
                latest[p.id] = (ms, p.version)
        out = []
        for service, (ms, version) in sorted(latest.items()):
            if service in self._last and self._last[service][0] >= ms:
                continue
            self._last[service] = (ms, version)
            out.append(Node(g.SERVICE, service, {"name": service, "last_version": version,
                                                 "last_seen": iso_ms(ms), "last_seen_ms": ms}))
        return out

    def _signature(self, sid: str, s: _Sig, old: Node | None, nodes: list[Node], edges: list[Edge]) -> None:
        props = _signature_props(s.code, s.urn)
        prev = old.props if old is not None else {}
        last_ms = max(s.last_ms, int(prev.get("last_seen_ms", s.last_ms)))
        level = max(s.level, str(prev.get("level", WARN)), key=lambda lv: _LEVEL.get(lv, 0))
        props.update(count=int(prev.get("count", 0)) + s.count, last_seen=iso_ms(last_ms), last_seen_ms=last_ms,
                     level=level)
        if "first_evidence" in prev:
            nodes.append(Node(g.FAILURE_SIGNATURE, sid.partition(":")[2], props))
            return
        first_at = iso_ms(s.first_ms)
        p = s.first.producer
        props.update(first_seen=first_at, first_seen_ms=s.first_ms, first_evidence=s.first.evidence_id,
                     first_level=s.first_level)
        if p is not None:
            props.update(_compact({"first_producer": p.id, "first_producer_version": p.version}))
        nodes.append(Node(g.FAILURE_SIGNATURE, sid.partition(":")[2], props, s.first_ms))
        if p is None or p.confidence not in TRUSTED_CONFIDENCE:
            return
        if p.version and (p.id, p.version) in self._deployed:
            edges.append(Edge(node_id(g.DEPLOYMENT, deployment_key(p.id, p.version)), g.INTRODUCED, sid,
                              {"first_evidence": s.first.evidence_id, "timestamp": first_at}))
        if s.first_level == WARN:
            edges.append(Edge(node_id(g.SERVICE, p.id), g.PRODUCED_DRIFT, sid, {
                "first_evidence": s.first.evidence_id, "timestamp": first_at, "confidence": p.confidence}))

    def _runs(self, evidence: Sequence[Evidence], sigs: dict[str, _Sig]) -> dict[str, _Run]:
        """Batch evidence (producer.run_id): JobRun nodes, ENCOUNTERED, and the lineage the evidence names."""
        runs: dict[str, _Run] = {}
        for ev in evidence:
            p, lin = ev.producer, ev.lineage
            run_id = (p.run_id if p is not None else None) or (lin.spark_run_id if lin is not None else None)
            if not run_id:
                continue
            rid = node_id(g.JOB_RUN, run_id)
            run = runs.get(rid)
            if run is None:
                spark = (p is not None and p.id.startswith("spark:")) or (lin is not None
                                                                           and lin.spark_run_id == run_id)
                job = (p.id.partition(":")[2] or p.id) if p is not None else None
                run = runs[rid] = _Run(Node(g.JOB_RUN, run_id, _compact({
                    "run_id": run_id, "job_name": job, "engine": "spark" if spark else None})))
                run.edges.append(Edge(rid, g.WROTE_TO, node_id(g.DATASET, ev.dataset_urn)))
                if lin is not None and lin.dag_run_id:
                    run.edges.append(Edge(node_id(g.DAG_RUN, lin.dag_run_id), g.EXECUTED, rid))
                if lin is not None and lin.upstream_dataset:
                    run.edges.append(Edge(rid, g.READ_FROM, node_id(g.DATASET, lin.upstream_dataset)))
            for code in ev.validation.reason_codes if ev.validation.result not in (PASS, SKIP) else ():
                sid = node_id(g.FAILURE_SIGNATURE, signature_key(code, ev.dataset_urn))
                if sid in sigs:
                    run.edges.append(Edge(rid, g.ENCOUNTERED, sid))
        return runs

    # -- signals, incidents, batch runs -------------------------------------------------------------

    def on_signal(self, signal: Signal) -> None:
        """Signal node, FailureSignature-[CAUSED]->Signal per top failure, Signal-[AFFECTS]->Dataset."""
        sid = node_id(g.SIGNAL, signal.signal_id)
        w = signal.window
        props = _compact({"signal_id": signal.signal_id, "type": signal.signal_type, "state": signal.state,
                          "dataset_urn": signal.dataset_urn, "timestamp": signal.timestamp,
                          "provisional": signal.provisional, "revision": signal.revision,
                          "window_type": w.type if w else None, "window_start": w.start if w else None,
                          "window_end": w.end if w else None})
        edges = [Edge(node_id(g.FAILURE_SIGNATURE, signature_key(tf.signature, signal.dataset_urn)), g.CAUSED, sid,
                      _compact({"count": tf.count, "is_new": tf.is_new})) for tf in signal.top_failures]
        edges.append(Edge(sid, g.AFFECTS, node_id(g.DATASET, signal.dataset_urn)))
        self._write([Node(g.SIGNAL, signal.signal_id, props, _ms(signal.timestamp))], edges)

    def on_incident(self, incident: Incident) -> None:
        """Incident node and Signal-[TRIGGERED]->Incident for each of its signals not known to be OK."""
        iid = node_id(g.INCIDENT, incident.incident_id)
        props = _compact({"incident_id": incident.incident_id, "severity": incident.severity,
                          "status": incident.status, "title": incident.title, "created_at": incident.created_at,
                          "updated_at": incident.updated_at, "signature": incident.failure_signature,
                          "dataset_urn": incident.dataset_urn, "primary_evidence_id": incident.primary_evidence_id})
        sids = [node_id(g.SIGNAL, s) for s in dict.fromkeys([incident.signal_id, *incident.signal_ids]) if s]
        known = self.graph.nodes_by_id(sids)
        edges = [Edge(s, g.TRIGGERED, iid) for s in sids if s not in known or known[s].props.get("state") != OK]
        self._write([Node(g.INCIDENT, incident.incident_id, props, _ms(incident.created_at))], edges)

    def on_batch_run(self, run: BatchRunTotals) -> None:
        """JobRun, Job and DAGRun nodes; EXECUTED, READ_FROM, WROTE_TO, ENCOUNTERED; INTRODUCED_DRIFT from the
        upstream dataset when it (or a dataset up to 3 FEEDS hops above it) showed the same reason code."""
        ctx = run.batch_context
        rid = node_id(g.JOB_RUN, run.run_id)
        namespace = str(ctx.get("job_namespace") or ctx.get("namespace") or "default")
        job_key = f"{namespace}/{run.job_name}"
        spark = ctx.get("spark_run_id") == run.run_id or run.run_id.startswith("spark")
        nodes = [Node(g.JOB_RUN, run.run_id, _compact({
            "run_id": run.run_id, "job_name": run.job_name, "job": node_id(g.JOB, job_key),
            "dataset_urn": run.dataset_urn, "start_time": run.started_at, "end_time": run.ended_at,
            "records_processed": run.records_processed, "records_passed": run.records_passed,
            "records_failed": run.records_failed, "duration_s": run.duration_s, "cost_units": run.cost_units,
            "engine": "spark" if spark else None}), _ms(run.started_at)),
            Node(g.JOB, job_key, {"name": run.job_name, "namespace": namespace, "last_run": run.run_id})]
        edges = [Edge(rid, g.WROTE_TO, node_id(g.DATASET, run.dataset_urn))]
        dag_run_id = ctx.get("dag_run_id")
        if dag_run_id:
            executed = str(dag_run_id).partition("__")[2] or None
            nodes.append(Node(g.DAG_RUN, str(dag_run_id), _compact({
                "dag_run_id": str(dag_run_id), "dag_id": ctx.get("dag_id"), "execution_date": executed}),
                _ms(executed)))
            edges.append(Edge(node_id(g.DAG_RUN, str(dag_run_id)), g.EXECUTED, rid))
        upstreams = [run.upstream_dataset] if run.upstream_dataset else \
            [urn for urn, ds in self.cp.datasets.items() if any(f.to == run.dataset_urn for f in ds.feeds)]
        edges += [Edge(rid, g.READ_FROM, node_id(g.DATASET, u)) for u in upstreams]
        self._run_signatures(run, rid, upstreams, nodes, edges)
        self._write(nodes, edges)

    def on_dataset_checks(self, checks: DatasetChecks, signal: Signal) -> None:
        """A run's failed data-quality checks on a dataset: FailureSignature nodes (the first time) and
        JobRun-[ENCOUNTERED]->FailureSignature, so RCA by signature finds the run that reported them."""
        if not signal.top_failures:
            return
        rid = node_id(g.JOB_RUN, checks.run_id)
        sids = {tf.signature: node_id(g.FAILURE_SIGNATURE, signature_key(tf.signature, checks.dataset_urn))
                for tf in signal.top_failures}
        existing = self.graph.nodes_by_id(list(sids.values()))
        nodes: list[Node] = []
        for code, sid in sids.items():
            if sid not in existing:
                props = _signature_props(code, checks.dataset_urn)
                props.update(first_seen=checks.ended_at, first_seen_ms=_ms(checks.ended_at), level=FAIL,
                             source="dq_check", first_run=checks.run_id)
                nodes.append(Node(g.FAILURE_SIGNATURE, sid.partition(":")[2], _compact(props), _ms(checks.ended_at)))
        self._write(nodes, [Edge(rid, g.ENCOUNTERED, sid, {"count": 1}) for sid in sids.values()])

    def _run_signatures(self, run: BatchRunTotals, rid: str, upstreams: list[str], nodes: list[Node],
                        edges: list[Edge]) -> None:
        lines = {u: [u] + [nid.partition(":")[2] for nid, _, _ in traverse(
            self.graph, [node_id(g.DATASET, u)], [g.FEEDS], "in", UPSTREAM_HOPS - 1)] for u in upstreams}
        codes = sorted(run.failure_signatures)
        own = {c: node_id(g.FAILURE_SIGNATURE, signature_key(c, run.dataset_urn)) for c in codes}
        existing = self.graph.nodes_by_id([*own.values(), *(
            node_id(g.FAILURE_SIGNATURE, signature_key(c, a)) for c in codes for line in lines.values() for a in line)])
        for code in codes:
            sid = own[code]
            edges.append(Edge(rid, g.ENCOUNTERED, sid, {"count": run.failure_signatures[code]}))
            if sid not in existing:  # no evidence yet: counts come from evidence only, the run's are on the edge
                props = _signature_props(code, run.dataset_urn)
                props.update(first_seen=run.ended_at, first_seen_ms=_ms(run.ended_at), level=FAIL, source="batch_run",
                             first_run=run.run_id)
                nodes.append(Node(g.FAILURE_SIGNATURE, sid.partition(":")[2], _compact(props), _ms(run.ended_at)))
            found = [(u, a) for u, line in lines.items() for a in line
                     if node_id(g.FAILURE_SIGNATURE, signature_key(code, a)) in existing]
            if not found:
                continue
            upstream, origin = found[0]
            source = existing[node_id(g.FAILURE_SIGNATURE, signature_key(code, origin))]
            nodes.append(Node(g.FAILURE_SIGNATURE, sid.partition(":")[2],
                              _compact({"first_seen_in_source": source.props.get("first_seen")})))
            edges.append(Edge(node_id(g.DATASET, upstream), g.INTRODUCED_DRIFT, sid, _compact({
                "origin_dataset": origin, "origin_signature": source.id, "first_seen": source.props.get("first_seen"),
                "first_evidence": source.props.get("first_evidence")})))

    def _write(self, nodes: list[Node], edges: list[Edge]) -> None:
        if nodes:
            self.graph.merge_nodes(nodes)
        if edges:
            self.graph.merge_edges(edges)
