"""Root-cause analysis over the ports: pure reads of the graph, evidence and incident stores.

    report = analyze_incident("INC-7721", graph=store.graph, evidence=store.evidence, incidents=store.incidents)
    report = analyze_signature("UNKNOWN_ENUM:discount_type:FLASH_SALE", graph=..., evidence=...)

Scenario 1 (an incident): Incident <-TRIGGERED- Signal <-CAUSED- FailureSignature <-INTRODUCED- Deployment,
plus every deployment in the 2 h before the first failure, each scored (`rca/confidence.py`); the best
eligible one is the cause, the rest are alternatives with the reason they lost. Scenario 2 (a signature):
its nodes on every dataset, the producer on PRODUCED_DRIFT and its first real-time evidence, the runs that
ENCOUNTERED it, and the blast radius from what those runs wrote. Both give the same `RCAReport`, with the
template explanation (an LLM may polish it later, `rca/explain.py`) and how long the graph took.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping

from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.errors import SignalFactoryError
from signal_factory.graph import model as gm
from signal_factory.graph.model import Node
from signal_factory.graph.ports import GraphStore
from signal_factory.ingest.otlp.repo import span_repo
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident
from signal_factory.rca import arrival, assemble, causes, drift, onset, spread, traces
from signal_factory.rca import stream as streams
from signal_factory.rca.explain import template_explanation
from signal_factory.rca.lookups import TimedGraph, as_int, as_str, clock, iso, to_ms
from signal_factory.rca.report import Header, RCAReport, Timing
from signal_factory.signals.model import DRIFT_DETECTED
from signal_factory.stores.ports import EvidenceRepo, IncidentRepo, SignalRepo, Store


class RcaLookupError(SignalFactoryError):
    """The incident or failure signature asked about is not in the stores."""


def analyze(store: Store, *, incident_id: str | None = None, signature: str | None = None,
            dataset: str | None = None, now: int | None = None,
            catalog: Mapping[str, DatasetSpec] | None = None) -> RCAReport:
    """The one entry point for CLI and API: an incident's report, or a signature's (exactly one of the two)."""
    graph = getattr(store, "graph", None)
    if graph is None:
        raise RcaLookupError(f"{type(store).__name__} has no causal graph; use a store that keeps one")
    if incident_id is not None:
        report = analyze_incident(incident_id, graph=graph, evidence=store.evidence, incidents=store.incidents,
                                  now=now, catalog=catalog, signals=store.signals)
    elif signature is None:
        raise RcaLookupError("nothing to analyse: give an incident id or a failure signature")
    else:
        report = analyze_signature(signature, dataset, graph=graph, evidence=store.evidence, now=now, catalog=catalog)
    return traces.add_trace_facts(report, span_repo(store), store.evidence)


def analyze_incident(incident_id: str, *, graph: GraphStore, evidence: EvidenceRepo, incidents: IncidentRepo,
                     now: int | None = None, catalog: Mapping[str, DatasetSpec] | None = None,
                     signals: SignalRepo | None = None) -> RCAReport:
    """Explain one incident. `now`: epoch ms of the analysis (default: the clock); `catalog`: control-plane
    datasets, filling names/tiers/types the graph's Dataset nodes lack; `signals`: the signal store, whose
    metrics (a stall's last record, a volume window's counts) locate the onset of a volume drop or stall."""
    t0 = time.perf_counter()
    now_ms = now if now is not None else int(time.time() * 1000)
    g = TimedGraph(graph)
    incident = incidents.get(incident_id)
    if incident is None:
        raise RcaLookupError(f"no incident {incident_id!r} in the store; `signal-factory incidents list` shows the ids")
    rc, urn = incident.failure_signature, incident.dataset_urn
    triggered = g.edges_from([gm.node_id(gm.INCIDENT, incident_id)], [gm.TRIGGERED], "in")
    signal_ids = sorted({e.src for e in triggered} | {gm.node_id(gm.SIGNAL, s) for s in incident.signal_ids})
    if arrival.is_arrival(incident):
        return _finish(_arrival_report(g, evidence, signals, incident, signal_ids, now_ms, catalog), g, t0)
    own = gm.node_id(gm.FAILURE_SIGNATURE, gm.signature_key(rc, urn))
    fs_nodes = g.nodes_by_id(sorted({e.src for e in g.edges_from(signal_ids, [gm.CAUSED], "in")} | {own}))
    if spread.is_spread(incident):
        return _finish(_spread_report(g, evidence, incident, signal_ids, fs_nodes, now_ms, catalog), g, t0)
    ins = g.edges_from([own], [gm.INTRODUCED, gm.PRODUCED_DRIFT, gm.ENCOUNTERED, gm.INTRODUCED_DRIFT], "in")
    subject = _incident_subject(incident, fs_nodes, own, ins, evidence)
    _breach_onset(g, evidence, subject, signal_ids, incident)
    candidates = causes.deployment_candidates(g, subject)
    facts = None
    if any(e.type != gm.INTRODUCED for e in ins):
        nodes = [fs_nodes[own]] if own in fs_nodes else []
        if not any(e.type == gm.PRODUCED_DRIFT for e in ins):  # the drift edge is on the upstream signature
            origins = sorted({o for e in ins if (o := as_str(e.props.get("origin_signature")))})
            nodes = nodes + list(g.nodes_by_id(origins).values()) if origins else drift.signature_nodes(g, rc, urn)
        facts = drift.gather(g, evidence, rc, nodes)
        candidates = causes.dedupe(candidates + _drift_candidates(g, subject, facts))
    chain = None
    if subject.failing is not None and subject.failing.stream is not None:  # a stream processor's failure
        chain = streams.walk(evidence, subject.failing, rc)
        chain.subject = streams.source_subject(g, evidence, chain, rc, subject.ref_ms)
        if chain.subject is not None:
            candidates = causes.dedupe(candidates + causes.deployment_candidates(g, chain.subject))
    chosen, alternatives = causes.choose(candidates, subject)
    header = _incident_header(incident, now_ms)
    findings = assemble.Findings(header=header, subject=subject, chosen=chosen, candidates=candidates,
                                 alternatives=alternatives, now_ms=now_ms, drift=facts, signal_ids=signal_ids,
                                 incident=incident, concurrent_ids=[n for n in fs_nodes if n != own], catalog=catalog,
                                 stream=chain)
    return _finish(assemble.report(g, findings), g, t0)


def analyze_signature(reason_code: str, dataset_urn: str | None = None, *, graph: GraphStore,
                      evidence: EvidenceRepo, now: int | None = None,
                      catalog: Mapping[str, DatasetSpec] | None = None) -> RCAReport:
    """Explain a failure signature (e.g. a batch drift): where it came from upstream, which runs it hit,
    what they wrote downstream. `dataset_urn` picks the dataset whose failures to explain; by default the
    one batch runs ENCOUNTERED it on, else where it was seen most."""
    t0 = time.perf_counter()
    now_ms = now if now is not None else int(time.time() * 1000)
    g = TimedGraph(graph)
    nodes = drift.signature_nodes(g, reason_code, dataset_urn)
    if not nodes and not evidence.signature_stats(reason_code, dataset_urn):
        where = f" on {dataset_urn}" if dataset_urn else ""
        raise RcaLookupError(f"no failure signature {reason_code!r}{where} in the graph or the evidence; signatures "
                             f"are reason codes such as MISSING_FIELD:customer_id (`signal-factory signals` lists "
                             f"each signal's top failures)")
    facts = drift.gather(g, evidence, reason_code, nodes)
    counts = {drift.dataset_of(n): as_int(n.props.get("count")) or 0 for n in nodes}
    counts.update({u: s.count for u, s in facts.stats.items()})
    focus = dataset_urn or facts.batch_dataset or max(sorted(counts), key=lambda u: counts[u])
    subject = _signature_subject(reason_code, focus, {drift.dataset_of(n): n for n in nodes}.get(focus), facts,
                                 evidence)
    candidates = causes.dedupe(causes.deployment_candidates(g, subject) + _drift_candidates(g, subject, facts))
    chosen, alternatives = causes.choose(candidates, subject)
    runs = facts.runs
    if runs:
        failed = sum(r.run.failed or 0 for r in runs) or subject.signature_count
        query = f"Why did {', '.join(r.run.run_id for r in runs)} reject {failed:,} records ({reason_code})?"
    else:
        query = f"Where does {reason_code} on {focus} come from, and what does it affect?"
    header = Header(subject="signature", title="BATCH DRIFT" if runs else "FAILURE SIGNATURE", query=query,
                    dataset_urn=focus, failure_signature=reason_code, generated_at=iso(now_ms))
    findings = assemble.Findings(header=header, subject=subject, chosen=chosen, candidates=candidates,
                                 alternatives=alternatives, now_ms=now_ms, drift=facts,
                                 concurrent_ids=facts.run_signatures, catalog=catalog)
    return _finish(assemble.report(g, findings), g, t0)


def _arrival_report(g: TimedGraph, evidence: EvidenceRepo, signals: SignalRepo | None, incident: Incident,
                    signal_ids: list[str], now_ms: int, catalog: Mapping[str, DatasetSpec] | None) -> RCAReport:
    """A volume drop or a freshness stall: deployments of the dataset's producers and upstream (`rca/arrival.py`)."""
    facts = arrival.gather(g, evidence, signals, incident, signal_ids, catalog)
    subject = arrival.subject(incident, facts)
    candidates = arrival.candidates(g, subject, facts)
    chosen, alternatives = causes.choose(candidates, subject, arrival.unknown(subject, facts))
    header = _incident_header(incident, now_ms)
    findings = assemble.Findings(header=header, subject=subject, chosen=chosen, candidates=candidates,
                                 alternatives=alternatives, now_ms=now_ms, signal_ids=signal_ids, incident=incident,
                                 catalog=catalog, arrival=facts)
    return assemble.report(g, findings)


def _spread_report(g: TimedGraph, evidence: EvidenceRepo, incident: Incident, signal_ids: list[str],
                   fs_nodes: Mapping[str, Node], now_ms: int, catalog: Mapping[str, DatasetSpec] | None) -> RCAReport:
    """Failures spread over many signatures (the incident is keyed by its signal type): the deployment common to
    most of them (`rca/spread.py`)."""
    facts = spread.gather(g, evidence, incident, signal_ids, fs_nodes)
    candidates = spread.candidates(g, facts)
    everything = spread.subject(incident, facts)
    chosen, alternatives = causes.choose(candidates, everything, spread.unknown(everything, facts))
    covered = facts.covers.get(chosen.deployment.id, []) if chosen.deployment is not None else []
    subject = spread.subject(incident, facts, covered) if covered else everything
    header = _incident_header(incident, now_ms)
    findings = assemble.Findings(header=header, subject=subject, chosen=chosen, candidates=candidates,
                                 alternatives=alternatives, now_ms=now_ms, signal_ids=signal_ids, incident=incident,
                                 catalog=catalog, spread=facts)
    return assemble.report(g, findings)


def _incident_header(incident: Incident, now_ms: int) -> Header:
    return Header(subject="incident", title=incident.title, incident_id=incident.incident_id,
                  severity=incident.severity, status=incident.status, dataset_urn=incident.dataset_urn,
                  failure_signature=incident.failure_signature, generated_at=iso(now_ms))


def _finish(report: RCAReport, g: TimedGraph, t0: float) -> RCAReport:
    report.explanation = template_explanation(report)
    report.timing = Timing(graph_ms=round(g.seconds * 1000, 3), total_ms=round((time.perf_counter() - t0) * 1000, 3),
                           graph_calls=g.calls)
    return report


def _drift_candidates(g: GraphStore, subject: causes.Subject, facts: drift.DriftFacts) -> list[causes.Candidate]:
    """The drift producer, and deployments near its first real-time evidence (a deploy may have made the drift)."""
    if not facts.service:
        return []
    first = subject.first_ms
    seconds = (first - facts.warn_ms) / 1000 if first is not None and facts.warn_ms is not None else None
    out = [causes.drift_candidate(subject, facts.service, seconds, facts.warn)]
    if facts.warn is not None and facts.realtime_dataset and facts.realtime_dataset != subject.dataset_urn:
        rt = causes.Subject(reason_code=subject.reason_code, dataset_urn=facts.realtime_dataset, fs_id="",
                            first_ms=facts.warn_ms, first_evidence_id=facts.warn_id, failing=facts.warn,
                            signature_count=facts.realtime_count or 1, concurrent_failures=facts.realtime_count or 1)
        _producer_from(rt, facts.warn)
        out += causes.deployment_candidates(g, rt)
    return out


def _producer_from(subject: causes.Subject, ev: Evidence | None, incident: Incident | None = None) -> None:
    p = ev.producer if ev is not None else None
    if p is not None:
        subject.producer, subject.producer_version, subject.identity = p.id, p.version, p.confidence
    elif incident is not None and incident.suspected_producer is not None:
        sp = incident.suspected_producer
        subject.producer, subject.producer_version, subject.identity = sp.service, sp.version, sp.confidence


def _incident_subject(incident: Incident, fs_nodes: Mapping[str, Node], own: str, ins: list[gm.Edge],
                      evidence: EvidenceRepo) -> causes.Subject:
    fs = fs_nodes.get(own)
    p = fs.props if fs is not None else {}
    intro = sorted((e for e in ins if e.type == gm.INTRODUCED), key=lambda e: to_ms(e.props.get("timestamp")) or 0)
    summary = incident.evidence_summary
    first_id = as_str(p.get("first_evidence")) or (as_str(intro[0].props.get("first_evidence")) if intro else None)
    primary = evidence.get(incident.primary_evidence_id) if incident.primary_evidence_id else None
    if primary is not None and incident.failure_signature not in primary.validation.reason_codes:
        primary = None  # a sample that does not carry the signature says nothing about who broke it
    first = evidence.get(first_id) if first_id and (primary is None or first_id != primary.evidence_id) else None
    failing = primary or first
    earliest = first or failing
    first_ms = (as_int(p.get("first_seen_ms")) or to_ms(p.get("first_seen"))
                or (to_ms(summary.first_failure) if summary is not None else None)
                or (to_ms(intro[0].props.get("timestamp")) if intro else None)
                or (to_ms(earliest.event_time()) if earliest is not None else None))
    count = as_int(p.get("count")) or (summary.failed_events if summary is not None else 0)
    together = sum(as_int(n.props.get("count")) or 0 for nid, n in fs_nodes.items() if nid != own) + count
    subject = causes.Subject(
        reason_code=incident.failure_signature, dataset_urn=incident.dataset_urn, fs_id=own, first_ms=first_ms,
        first_evidence_id=first_id or (failing.evidence_id if failing else None), failing=failing,
        signature_count=count, concurrent_failures=max(together, summary.failed_events if summary else 0),
        total_events=summary.total_events if summary else None,
        failed_events=summary.failed_events if summary else None,
        introduced_by={e.src for e in intro})
    _producer_from(subject, failing, incident)
    return subject


def _breach_onset(g: GraphStore, evidence: EvidenceRepo, subject: causes.Subject, signal_ids: list[str],
                  incident: Incident) -> None:
    """A signature seen at a background rate before the breach: the jump of its rate is the onset, and the
    records from there on say who produced the breach (`rca/onset.py`)."""
    if subject.first_ms is None:
        return
    breaches = [n for n in g.nodes_by_id(signal_ids).values()
                if n.props.get("state") not in (None, "OK", "UNKNOWN") and n.props.get("type") != DRIFT_DETECTED]
    ends = [to_ms(n.props.get("window_end")) or n.ts_ms or to_ms(n.props.get("timestamp")) for n in breaches]
    anchor = min((e for e in ends if e is not None), default=None) or to_ms(incident.updated_at)
    if anchor is None or anchor <= subject.first_ms:
        return
    found = onset.signature_onset(evidence, subject.reason_code, subject.dataset_urn, subject.first_ms, anchor)
    if found is None:
        return
    change, ids = found
    subject.onset_ms = change.at_ms
    subject.onset_note = (f"{subject.reason_code} went from {onset.per_minute(change.before_per_min)} to "
                          f"{onset.per_minute(change.after_per_min)} records a minute at {clock(change.at_ms)} UTC, "
                          f"after {change.before_count:,} background sightings since {clock(subject.first_ms)} UTC")
    sample = [ev for ev in (evidence.get(i) for i in ids) if ev is not None and ev.producer is not None]
    votes = Counter((ev.producer.id, ev.producer.version) for ev in sample if ev.producer is not None)
    if votes:
        top = votes.most_common(1)[0][0]
        subject.failing = next(ev for ev in sample if ev.producer is not None
                               and (ev.producer.id, ev.producer.version) == top)
        _producer_from(subject, subject.failing)


def _signature_subject(reason_code: str, urn: str, node: Node | None, facts: drift.DriftFacts,
                       evidence: EvidenceRepo) -> causes.Subject:
    p = node.props if node is not None else {}
    stats = facts.stats.get(urn)
    first_id = (stats.first_evidence_id if stats else None) or as_str(p.get("first_evidence"))
    failing = evidence.get(first_id) if first_id else None
    count = max(stats.count if stats else 0, as_int(p.get("count")) or 0)  # the graph may count more than is kept
    firsts = [t for t in (stats.first_seen_ms if stats else None, as_int(p.get("first_seen_ms")),
                          to_ms(p.get("first_seen"))) if t is not None]
    first_ms = min(firsts) if firsts else None
    run_failed = sum(r.run.failed or 0 for r in facts.runs)
    if count == 0:  # no evidence of it kept (the job reported through OpenLineage only): the runs' count is it
        count = run_failed
    subject = causes.Subject(
        reason_code=reason_code, dataset_urn=urn, fs_id=node.id if node is not None else "", first_ms=first_ms,
        first_evidence_id=first_id, failing=failing, signature_count=count,
        concurrent_failures=max(count, run_failed), failed_events=run_failed or None,
        total_events=sum(r.run.processed or 0 for r in facts.runs) or None)
    _producer_from(subject, failing)
    return subject
