"""From findings (subject, chosen cause, drift facts) to the report's sections: statement, blast radius,
data flow, actions, evidence chain and concurrent signatures. Graph reads here are bounded: the blast
radius walk, one node fetch, and a few edge lookups around the cause."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.graph import model as gm
from signal_factory.graph.model import Node
from signal_factory.graph.ports import GraphStore
from signal_factory.model.incidents import Incident
from signal_factory.rca import actions as act
from signal_factory.rca import arrival, consumers, impact, spread, timeline
from signal_factory.rca import stream as streams
from signal_factory.rca.arrival import ArrivalFacts
from signal_factory.rca.causes import WINDOW_S, Candidate, Subject, previous_deployment
from signal_factory.rca.confidence import duration
from signal_factory.rca.drift import DriftFacts, RunFacts, dataset_of
from signal_factory.rca.lookups import DatasetInfo, Deployment, as_int, as_str, clock, iso, signature_parts, to_ms
from signal_factory.rca.report import (
    DEPLOYMENT,
    UNKNOWN,
    UPSTREAM_DRIFT,
    AffectedRun,
    Alternative,
    BlastItem,
    ConcurrentSignature,
    EvidenceChain,
    FlowHop,
    Header,
    RCAReport,
    RootCause,
)


@dataclass
class Findings:
    header: Header
    subject: Subject
    chosen: Candidate
    candidates: list[Candidate]
    alternatives: list[Alternative]
    now_ms: int
    drift: DriftFacts | None = None
    signal_ids: list[str] = field(default_factory=list)
    incident: Incident | None = None
    concurrent_ids: list[str] = field(default_factory=list)
    catalog: Mapping[str, DatasetSpec] | None = None
    arrival: ArrivalFacts | None = None  # a volume drop or a freshness stall, not a failure signature
    spread: spread.SpreadFacts | None = None  # failures spread over many signatures (keyed by signal type)
    stream: streams.StreamFacts | None = None  # a stream processor's failure, walked back along its chain

    @property
    def cause_subject(self) -> Subject:
        """The failure the chosen cause was found on: the source record's, when found through a processor's
        correlation chain (`rca/stream.py`), else the subject's own."""
        st = self.stream
        return st.subject if st is not None and st.subject is not None and st.explains(self.chosen) else self.subject


def report(graph: GraphStore, f: Findings) -> RCAReport:
    s, c, drift = f.subject, f.chosen, f.drift
    d = c.deployment
    runs = drift.runs if drift is not None else []
    roots = sorted({o for r in runs for o in r.outputs}) or [s.dataset_urn]
    reached = impact.downstream(graph, roots)
    rt = drift.realtime_dataset if drift is not None else None
    src = f.cause_subject.dataset_urn
    items, infos = impact.blast_items(graph, reached, f.catalog, also=[*roots, *([rt] if rt else []), src])
    if runs:
        items = [*_run_outputs(runs, infos), *items]
    hops = {**dict.fromkeys(roots, 0), **{r.urn: r.edges for r in reached}}
    items = consumers.airflow_consumers(graph, hops, items, f.catalog)
    concurrent = list(f.concurrent_ids)
    if d is not None:
        concurrent += [e.dst for e in graph.edges_from([d.id], [gm.INTRODUCED], "out") if e.dst != s.fs_id]
    covered = f.spread.covers.get(d.id, []) if f.spread is not None and d is not None else []
    if f.spread is not None:  # the incident's own signatures are listed in `signatures`, not as concurrent
        own = {x.fs_id for x in f.spread.signatures}
        concurrent = [x for x in concurrent if x not in own]
    signal_ids = sorted({*f.signal_ids, *(drift.signal_ids if drift else [])})
    signal_nodes = graph.nodes_by_id(signal_ids)
    other_incidents: list[Node] = []
    if f.incident is None and signal_ids:
        inc_ids = sorted({e.dst for e in graph.edges_from(signal_ids, [gm.TRIGGERED], "out")})
        other_incidents = list(graph.nodes_by_id(inc_ids).values())
    if f.arrival is not None:
        actions = (act.arrival_actions(d, previous_deployment(graph, d), s.dataset_urn, s.reason_code) if d else
                   act.arrival_unknown_actions(s.dataset_urn, f.arrival.producers, sorted(f.arrival.upstream)))
    elif d is not None:
        actions = act.deployment_actions(d, previous_deployment(graph, d), c.dataset_urn or s.dataset_urn,
                                         f.cause_subject.reason_code,
                                         what=spread.what_it_does(covered) if f.spread else None)
        if runs:
            actions.append(_reprocess(drift, runs))
    elif c.kind == UPSTREAM_DRIFT and drift is not None:
        owner = infos[rt].owner if rt and rt in infos else None
        jobs = sorted({r.run.job for r in runs if r.run.job})
        actions = act.drift_actions(s.reason_code, service=c.service, jobs=jobs, runs=[r.run.run_id for r in runs],
                                    partitions=_partitions(drift), owner=owner)
    else:
        what = f"the {len(f.spread.signatures)} failure signatures" if f.spread is not None else s.reason_code
        actions = act.unknown_actions(what, s.dataset_urn, s.producer, s.first_evidence_id)
    return RCAReport(
        header=f.header, root_cause=_root_cause(f), confidence=c.confidence,
        timeline=timeline.build(subject=s, chosen=c, candidates=f.candidates, drift=drift,
                                signals=[signal_nodes[i] for i in signal_ids if i in signal_nodes],
                                incident=f.incident, incidents=other_incidents, now_ms=f.now_ms),
        data_flow=_flow(graph, f, reached, infos), blast_radius=items, affected_runs=[_affected(r) for r in runs],
        actions=actions, evidence=_chain(f), alternatives=f.alternatives,
        concurrent_signatures=_concurrent(graph, concurrent, f.incident),
        signatures=spread.signature_rows(f.spread, covered) if f.spread is not None else [],
        stream_chain=streams.hops(f.stream, c, s.reason_code) if f.stream is not None else [])


def _run_outputs(runs: Sequence[RunFacts], infos: Mapping[str, DatasetInfo]) -> list[BlastItem]:
    items = []
    for urn in sorted({o for r in runs for o in r.outputs}):
        writers = [r for r in runs if urn in r.outputs]
        failed = sum(r.run.failed or 0 for r in writers)
        info = infos[urn]
        ids = ", ".join(r.run.run_id for r in writers)
        items.append(BlastItem(urn=urn, name=info.name, tier=info.tier, type=info.type, hops=0, via=gm.WROTE_TO,
                               job=writers[0].run.job, impact=f"missing {failed:,} records rejected by {ids}"
                               if failed else f"written by {ids}"))
    return items


def _partitions(drift: DriftFacts) -> list[str]:
    ev = drift.batch_first
    if ev is not None and ev.source is not None and ev.source.input_dataset:
        return [ev.source.input_dataset]
    return sorted({i for r in drift.runs for i in r.inputs})


def _reprocess(drift: DriftFacts | None, runs: Sequence[RunFacts]) -> str:
    parts = ", ".join(_partitions(drift)) if drift is not None else ""
    return f"Reprocess {parts or 'the affected partition'} (rerun {', '.join(r.run.run_id for r in runs)})"


def _root_cause(f: Findings) -> RootCause:
    s, c, d, drift = f.subject, f.chosen, f.chosen.deployment, f.drift
    rc = s.reason_code
    seconds = c.facts.seconds
    onset = {"onset": iso(s.onset_ms), "onset_note": s.onset_note} if s.onset_ms is not None else {}
    if f.spread is not None:
        return spread.root_cause(s, c, f.candidates, f.spread)
    if f.arrival is not None:
        who = {"service": d.service, "version": d.version, "deployed_at": iso(d.deployed_ms), "commit": d.commit,
               "inferred": d.inferred, "seconds_to_onset": seconds} if d is not None else {}
        return RootCause(kind=DEPLOYMENT if d is not None else UNKNOWN, statement=arrival.statement(c, f.arrival),
                         reason_code=rc, dataset_urn=s.dataset_urn, **onset, **who)  # type: ignore[arg-type]
    if c.kind == DEPLOYMENT and d is not None and f.cause_subject is not s:
        return _stream_root_cause(f, d)
    if c.kind == DEPLOYMENT and d is not None:
        how = " (inferred from the evidence, no deployment marker)" if d.inferred else ""
        after = f"{duration(seconds)} after it, " if seconds is not None else ""
        where = c.dataset_urn or s.dataset_urn
        if s.onset_ms is not None:
            text = (f"Deployment {d.label} at {clock(d.deployed_ms)} UTC{how} turned {rc} on {where} from background "
                    f"noise into a breach ({s.onset_note}): {after}{d.service} {act.what_changed(rc)}.")
            onset["seconds_to_onset"] = seconds  # type: ignore[assignment]
            seconds = None  # the first failure, background noise, came before the deployment
        else:
            text = (f"Deployment {d.label} at {clock(d.deployed_ms)} UTC{how} introduced {rc} on "
                    f"{where}: {after}{d.service} {act.what_changed(rc)}.")
        return RootCause(kind=DEPLOYMENT, statement=text, service=d.service, version=d.version,
                         deployed_at=iso(d.deployed_ms), commit=d.commit, inferred=d.inferred, reason_code=rc,
                         dataset_urn=s.dataset_urn, first_failure=iso(s.first_ms), seconds_to_first_failure=seconds,
                         **onset)  # type: ignore[arg-type]
    if c.kind == UPSTREAM_DRIFT and drift is not None:
        runs = drift.runs
        text = (f"Schema drift in upstream producer {c.service}: it {act.what_changed(rc)}, first seen "
                f"{clock(drift.warn_ms, with_date=True)} UTC on {drift.realtime_dataset}")
        if runs:
            jobs = ", ".join(sorted({r.run.job or r.run.run_id for r in runs}))
            failed = sum(r.run.failed or 0 for r in runs) or s.signature_count
            text += f"; {jobs} rejected {failed:,} records in {', '.join(r.run.run_id for r in runs)}"
        return RootCause(kind=UPSTREAM_DRIFT, statement=text + ".", service=c.service, reason_code=rc,
                         dataset_urn=s.dataset_urn, first_failure=iso(s.first_ms), seconds_to_first_failure=seconds)
    nearby = [x.deployment.label for x in f.candidates if x.deployment is not None and not x.excluded]
    when = f" at {clock(s.first_ms, with_date=True)} UTC" if s.first_ms is not None else ""
    text = f"No deployment or upstream change in the graph explains {rc} on {s.dataset_urn}: "
    text += (f"the deployments in the {duration(WINDOW_S)} before the first failure{when} are of other services "
             f"({', '.join(nearby)})" if nearby else
             f"nothing was deployed in the {duration(WINDOW_S)} before the first failure{when}")
    if s.producer:
        version = f" {s.producer_version}" if s.producer_version else ""
        text += f"; the failing records come from {s.producer}{version} ({s.identity or 'unknown'} identity)"
    text += ". The cause is outside what the graph records; confidence is low."
    return RootCause(kind=UNKNOWN, statement=text, service=s.producer, version=s.producer_version, reason_code=rc,
                     dataset_urn=s.dataset_urn, first_failure=iso(s.first_ms))


def _stream_root_cause(f: Findings, d: Deployment) -> RootCause:
    """A deploy of the producer upstream of a failing stream processor, found through its correlation chain."""
    src, s, c = f.cause_subject, f.subject, f.chosen
    seconds = c.facts.seconds
    how = " (inferred from the evidence, no deployment marker)" if d.inferred else ""
    after = f"{duration(seconds)} after it, " if seconds is not None else ""
    began = f" ({src.onset_note})" if src.onset_ms is not None else ""
    chain = streams.hops(f.stream, c, s.reason_code) if f.stream is not None else []
    processor = chain[0].label if chain else "the stream processor"
    text = (f"Deployment {d.label} at {clock(d.deployed_ms)} UTC{how} introduced {src.reason_code} on "
            f"{src.dataset_urn}{began}: {after}{d.service} {act.what_changed(src.reason_code)}. Stream processor "
            f"{processor} consumed those records and failed with {s.reason_code} on {s.dataset_urn}: "
            f"{streams.chain_line(chain)}.")
    onset = {"onset": iso(src.onset_ms), "onset_note": src.onset_note, "seconds_to_onset": seconds} \
        if src.onset_ms is not None else {}
    return RootCause(kind=DEPLOYMENT, statement=text, service=d.service, version=d.version,
                     deployed_at=iso(d.deployed_ms), commit=d.commit, inferred=d.inferred, reason_code=s.reason_code,
                     dataset_urn=s.dataset_urn, first_failure=iso(s.first_ms),
                     seconds_to_first_failure=None if src.onset_ms is not None else seconds,
                     **onset)  # type: ignore[arg-type]


def _flow(graph: GraphStore, f: Findings, reached: Sequence[impact.Reached],
          infos: Mapping[str, DatasetInfo]) -> list[FlowHop]:
    s, c, drift = f.subject, f.chosen, f.drift
    _, _, value = signature_parts(s.reason_code)
    hops: list[FlowHop] = []
    if drift is not None and drift.runs:
        if c.service:
            hops.append(FlowHop(label=c.service, kind="service", note=f"{value or s.reason_code} introduced"))
        r = drift.runs[0]
        start = drift.realtime_dataset or (r.inputs[0] if r.inputs else None)
        warn = drift.warn
        topic = warn.source.topic if warn is not None and warn.source is not None else None
        if start is not None:
            path = (impact.path_between(graph, start, r.inputs[0]) if r.inputs else None) or [start, *r.inputs[:1]]
            hops += impact.dataset_hops(path, infos, first_label=topic)
        failed = f"{r.run.failed:,} records filtered out" if r.run.failed else None
        hops.append(FlowHop(label=r.run.job or r.run.run_id, kind="job", ref=r.run.run_id, note=failed))
        if r.outputs:
            hops += impact.dataset_hops(impact.main_chain(r.outputs[0], reached, infos), infos)
        return hops
    service = c.service or s.producer
    if service:
        d = c.deployment
        note = f"{d.version} deployed {clock(d.deployed_ms)}" if d is not None else None
        hops.append(FlowHop(label=service, kind="service", note=note))
    src = f.cause_subject
    if src is not s and f.stream is not None:  # producer -> source topic -> processor -> its output and on
        ev = src.failing
        topic = ev.source.topic if ev is not None and ev.source is not None else None
        hops += impact.dataset_hops([src.dataset_urn], infos, first_label=topic,
                                    notes={src.dataset_urn: f"{src.signature_count:,} failing records"})
        first = f.stream.path[0].stream
        label = gm.processor_key(first.topology_id, first.processor_node) if first is not None else "processor"
        hops.append(FlowHop(label=label, kind="job", note=f"{s.signature_count:,} records failed"
                            if s.signature_count else None))
        return hops + impact.dataset_hops(impact.main_chain(s.dataset_urn, reached, infos), infos)
    ev = s.failing
    topic = ev.source.topic if ev is not None and ev.source is not None else None
    notes = {s.dataset_urn: f"{s.signature_count:,} failing records"} if s.signature_count else None
    return hops + impact.dataset_hops(impact.main_chain(s.dataset_urn, reached, infos), infos, first_label=topic,
                                      notes=notes)


def _affected(r: RunFacts) -> AffectedRun:
    return AffectedRun(run_id=r.run.run_id, job=r.run.job, dag_run_id=r.dag_run_id, started_at=iso(r.run.start_ms),
                       ended_at=iso(r.run.end_ms), records_processed=r.run.processed, records_failed=r.run.failed,
                       inputs=r.inputs, outputs=r.outputs)


def _chain(f: Findings) -> EvidenceChain:
    s, drift, inc = f.subject, f.drift, f.incident
    warn = drift.warn if drift is not None else None
    root_ev = warn if f.chosen.kind == UPSTREAM_DRIFT and warn is not None else f.cause_subject.failing
    p = root_ev.producer if root_ev is not None else None
    trace = root_ev.otel.trace_id if root_ev is not None and root_ev.otel is not None else None
    primary = (inc.primary_evidence_id if inc else None) or (root_ev.evidence_id if root_ev else s.first_evidence_id)
    chain = EvidenceChain(
        primary_evidence_id=primary, primary_trace_id=(inc.primary_trace_id if inc else None) or trace,
        producer=p.id if p else s.producer, producer_version=p.version if p else s.producer_version,
        identity_confidence=p.confidence if p else s.identity, total_events=s.total_events,
        failed_events=s.failed_events, signature_count=s.signature_count, first_evidence_id=s.first_evidence_id,
        first_failure=iso(s.first_ms))
    if drift is not None:
        chain.realtime_warn_evidence_id, chain.realtime_warn_at = drift.warn_id, iso(drift.warn_ms)
        chain.batch_fail_evidence_id, chain.batch_fail_count = drift.batch_first_id, drift.batch_count
        chain.run_ids = [r.run.run_id for r in drift.runs]
        chain.dag_run_ids = sorted({r.dag_run_id for r in drift.runs if r.dag_run_id})
    return chain


def _concurrent(graph: GraphStore, ids: Sequence[str], incident: Incident | None) -> list[ConcurrentSignature]:
    ids = sorted(set(ids))
    if not ids:
        return []
    nodes = graph.nodes_by_id(ids)
    caused = graph.edges_from(ids, [gm.CAUSED], "out")
    triggered = graph.edges_from(sorted({e.dst for e in caused}), [gm.TRIGGERED], "out")
    incidents_of: dict[str, set[str]] = {}
    for e in caused:
        for t in triggered:
            if t.src == e.dst and (incident is None or t.dst != gm.node_id(gm.INCIDENT, incident.incident_id)):
                incidents_of.setdefault(e.src, set()).add(gm.split_id(t.dst)[1])
    out = []
    for nid in ids:
        n = nodes.get(nid) or Node(gm.FAILURE_SIGNATURE, gm.split_id(nid)[1])
        p = n.props
        out.append(ConcurrentSignature(
            reason_code=as_str(p.get("reason_code")) or n.key.partition("@")[0], dataset_urn=dataset_of(n),
            count=as_int(p.get("count")), first_seen=iso(as_int(p.get("first_seen_ms")) or to_ms(p.get("first_seen"))),
            incident_ids=sorted(incidents_of.get(nid, ()))))
    return out
