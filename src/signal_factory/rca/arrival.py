"""Causes of a volume drop or a freshness stall: deployments of the dataset's producers, and of the producers
upstream of it (FEEDS), near the onset of the drop or the stall.

A VOLUME_ANOMALY or FRESHNESS_BREACH incident has no failure signature: no record says what changed. What is
known is when records stopped or thinned out, who produces the dataset, and what the records around that
instant say of their producers' versions. So:

* Onset. Stall: the last record before the silence (the breaching signal's `last_event_at`, else its time
  less the interval it reports); a deployment up to one expected interval after it still counts as at it (the
  deploy that stops a producer lands before the next record was due). Volume: the minute the records per
  minute shifted to a new level (`onset.level_shift`) in the hour before the anomalous window and the window
  itself, else the window's start; one minute of slack.
* Candidates: deployments from `WINDOW_S` before the onset to `AFTER_S` after it. Eligible: deployments of the
  dataset's declared producers (OWNED_BY), of services whose records it carries, and of producers of datasets
  up to `UPSTREAM_HOPS` FEEDS hops upstream. Others are listed, ruled out; later ones, excluded.
* Confidence: `confidence.ARRIVAL_WEIGHTS` under `ARRIVAL_CEILING`, lower than a signature's (the report says
  why). With no eligible deployment the cause is UNKNOWN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from signal_factory.controlplane.loader import parse_duration
from signal_factory.controlplane.model import Dataset as DatasetSpec
from signal_factory.graph import model as gm
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident
from signal_factory.rca import confidence as conf
from signal_factory.rca import onset
from signal_factory.rca.causes import AFTER_S, WINDOW_S, Candidate, Subject
from signal_factory.rca.confidence import duration
from signal_factory.rca.lookups import as_str, clock, deployment, to_ms
from signal_factory.rca.report import DEPLOYMENT, UNKNOWN
from signal_factory.signals.model import FRESHNESS_BREACH, OK, VOLUME_ANOMALY, Signal, Window
from signal_factory.stores.ports import EvidenceRepo, SignalRepo

KINDS = (VOLUME_ANOMALY, FRESHNESS_BREACH)
UPSTREAM_HOPS = 3
HOUR_MS = 3_600_000
SAMPLE = 200  # records read on each side of an onset to learn who produces them, at which version


@dataclass
class ArrivalFacts:
    kind: str
    dataset_urn: str
    onset_ms: int | None = None
    slack_ms: int = onset.MINUTE_MS
    note: str = ""  # what happened, in words, for reasons and the statement
    producers: list[str] = field(default_factory=list)  # declared (OWNED_BY)
    upstream: dict[str, int] = field(default_factory=dict)  # service -> FEEDS hops above the dataset
    before: list[Evidence] = field(default_factory=list)  # records just before the onset
    after: list[Evidence] = field(default_factory=list)  # after it (a stall: once records came back)
    resumed_ms: int | None = None


def is_arrival(incident: Incident) -> bool:
    return incident.signal_type in KINDS or incident.failure_signature in KINDS


def gather(g: GraphStore, evidence: EvidenceRepo, signals: SignalRepo | None, incident: Incident,
           signal_ids: Sequence[str], catalog: Mapping[str, DatasetSpec] | None) -> ArrivalFacts:
    """The onset, the dataset's producers (declared and upstream) and the records around the onset."""
    urn = incident.dataset_urn
    kind = incident.signal_type if incident.signal_type in KINDS else incident.failure_signature
    facts = ArrivalFacts(kind=kind, dataset_urn=urn)
    first = _first_breach(g, signals, kind, signal_ids)
    if kind == FRESHNESS_BREACH:
        _stall(facts, first, _interval_ms(urn, catalog))
    else:
        _drop(facts, first, evidence)
    facts.producers = sorted(gm.split_id(e.dst)[1] for e in g.edges_from([gm.node_id(gm.DATASET, urn)],
                                                                           [gm.OWNED_BY], "out"))
    facts.upstream = _upstream_services(g, urn)
    at = facts.onset_ms
    if at is not None:
        facts.before = (evidence.by_dataset(urn, at - 2 * onset.MINUTE_MS, at + 1, limit=SAMPLE)
                        or evidence.by_dataset(urn, at - HOUR_MS, at + 1, limit=SAMPLE))
        if kind == FRESHNESS_BREACH:
            facts.after = evidence.by_dataset(urn, at + 1, at + 1 + 30 * 24 * HOUR_MS, limit=SAMPLE)
            facts.resumed_ms = to_ms(facts.after[0].event_time()) if facts.after else None
        else:
            facts.after = evidence.by_dataset(urn, at, at + HOUR_MS, limit=SAMPLE)
    return facts


def subject(incident: Incident, facts: ArrivalFacts) -> Subject:
    """The incident as a `Subject` whose reference instant is the onset (there is no failure to date)."""
    seen = Counter((ev.producer.id, ev.producer.version, ev.producer.confidence)
                   for ev in facts.before + facts.after if ev.producer is not None)
    top = seen.most_common(1)[0][0] if seen else None
    what = "volume drop" if facts.kind == VOLUME_ANOMALY else "last record before the stall"
    return Subject(reason_code=facts.kind, dataset_urn=facts.dataset_urn, fs_id="", first_ms=None,
                   producer=top[0] if top else None, producer_version=top[1] if top else None,
                   identity=top[2] if top else None, onset_ms=facts.onset_ms, onset_note=facts.note,
                   reference_name=what)


def candidates(g: GraphStore, s: Subject, facts: ArrivalFacts) -> list[Candidate]:
    """Every deployment near the onset, scored; eligible if of a producer of the dataset or upstream of it."""
    at = facts.onset_ms
    if at is None:
        return []
    nodes = g.nodes_of_kind(gm.DEPLOYMENT, start_ms=at - WINDOW_S * 1000, end_ms=at + facts.slack_ms + AFTER_S * 1000)
    writers = {ev.producer.id for ev in facts.before + facts.after if ev.producer is not None}
    out = []
    for n in sorted(nodes, key=lambda n: n.id):
        d = deployment(n)
        seconds = (at - d.deployed_ms) / 1000 if d.deployed_ms is not None else None
        relation: conf.Relation = ("producer" if d.service in facts.producers else "writer" if d.service in writers
                                   else "upstream" if d.service in facts.upstream else "none")
        facts_ = conf.CauseFacts(
            kind=DEPLOYMENT, service=d.service, version=d.version, seconds=seconds, producer=s.producer,
            producer_version=s.producer_version, signature=s.reason_code, identity=_identity(facts, d.service),
            marker="inferred" if d.inferred else "marker", reference=s.reference,
            basis="volume" if facts.kind == VOLUME_ANOMALY else "freshness", dataset=facts.dataset_urn,
            slack_s=facts.slack_ms / 1000, relation=relation, hops=facts.upstream.get(d.service, 0),
            version_seen=_version_seen(facts, d.service, d.version, relation))
        excluded = seconds is not None and seconds < -facts_.slack_s
        out.append(Candidate(DEPLOYMENT, d.service, facts_, conf.score(facts_), d, facts.dataset_urn,
                             eligible=not excluded and relation != "none", excluded=excluded))
    return out


def unknown(s: Subject, facts: ArrivalFacts) -> Candidate:
    f = conf.CauseFacts(kind=UNKNOWN, signature=s.reason_code, reference=s.reference, dataset=facts.dataset_urn,
                        basis="volume" if facts.kind == VOLUME_ANOMALY else "freshness", identity=s.identity)
    return Candidate(UNKNOWN, None, f, conf.score(f), dataset_urn=facts.dataset_urn)


def statement(c: Candidate, facts: ArrivalFacts) -> str:
    """The root-cause sentence for a volume drop or a stall."""
    what = "cut the volume of" if facts.kind == VOLUME_ANOMALY else "stalled"
    d = c.deployment
    if c.kind == DEPLOYMENT and d is not None:
        how = " (inferred from the evidence, no deployment marker)" if d.inferred else ""
        where = ""
        if c.facts.relation == "upstream":
            where = f", {c.facts.hops} FEEDS hop{'s' if c.facts.hops > 1 else ''} upstream,"
        return (f"Deployment {d.label} at {clock(d.deployed_ms)} UTC{how}{where} {what} {facts.dataset_urn}: "
                f"{facts.note}.")
    who = ", ".join(facts.producers) or "none declared"
    upstream = f"; upstream: {', '.join(sorted(facts.upstream))}" if facts.upstream else ""
    when = "drop" if facts.kind == VOLUME_ANOMALY else "stall"
    text = (f"No deployment of {facts.dataset_urn}'s producers ({who}{upstream}) in the {duration(WINDOW_S)} before "
            f"the {when} explains it")
    text += f" ({facts.note})" if facts.note else ""
    return text + ". The cause is outside what the graph records; confidence is low."


def _first_breach(g: GraphStore, signals: SignalRepo | None, kind: str, ids: Sequence[str]) -> Signal | None:
    """The incident's earliest breaching signal of its kind (from the signal store; else rebuilt from the graph)."""
    found: list[Signal] = []
    keys = [gm.split_id(i)[1] for i in ids]
    if signals is not None:
        found = [s for s in (signals.get(k) for k in keys) if s is not None]
    else:
        for n in g.nodes_by_id(list(ids)).values():
            p = n.props
            ws, we = as_str(p.get("window_start")), as_str(p.get("window_end"))
            found.append(Signal(signal_id=n.key, signal_type=as_str(p.get("type")) or "", dataset_urn="",
                                state=as_str(p.get("state")) or "", timestamp=as_str(p.get("timestamp")) or "",
                                window=Window(ws, we, as_str(p.get("window_type")) or "") if ws and we else None))
    breaches = [s for s in found if s.signal_type == kind and s.state not in (OK, "UNKNOWN")]
    return min(breaches, key=lambda s: (to_ms(s.timestamp) or 0, s.signal_id), default=None)


def _stall(facts: ArrivalFacts, sig: Signal | None, interval_ms: int | None) -> None:
    if sig is None:
        return
    at = to_ms(sig.timestamp)
    lag = sig.metrics.get("lag_s") if sig.metrics else None
    last = to_ms(sig.metrics.get("last_event_at")) if sig.metrics else None
    if interval_ms is None and isinstance(sig.metrics.get("expected_interval_s"), int | float):
        interval_ms = int(float(sig.metrics["expected_interval_s"]) * 1000)
    if last is None and at is not None:
        last = at - int(float(lag) * 1000) if isinstance(lag, int | float) else at - (interval_ms or 0)
    facts.onset_ms = last
    facts.slack_ms = interval_ms or onset.MINUTE_MS
    if last is not None:
        every = f" (expected every {duration(facts.slack_ms / 1000)})" if interval_ms else ""
        facts.note = f"its last record arrived at {clock(last)} UTC, then nothing{every}"


def _drop(facts: ArrivalFacts, sig: Signal | None, evidence: EvidenceRepo) -> None:
    if sig is None or sig.window is None:
        return
    start, end = to_ms(sig.window.start), to_ms(sig.window.end)
    if start is None or end is None:
        return
    m = sig.metrics
    observed, median = m.get("observed_count"), m.get("baseline_median")
    down = not (isinstance(observed, int | float) and isinstance(median, int | float) and observed > median)
    counts = evidence.minute_counts(facts.dataset_urn, start - HOUR_MS, end)
    change = onset.level_shift(counts, start - HOUR_MS, end, "down" if down else "up")
    facts.onset_ms = change.at_ms if change is not None else start
    went = "fell" if down else "rose"
    if change is not None:
        facts.note = (f"records per minute {went} from {onset.per_minute(change.before_per_min)} to "
                      f"{onset.per_minute(change.after_per_min)} at {clock(change.at_ms)} UTC")
    else:
        facts.note = f"the hour from {clock(start)} UTC held {observed} records against a usual {median}"
    if isinstance(observed, int | float) and isinstance(median, int | float) and change is not None:
        facts.note += f" ({observed:,.0f} records in the hour from {clock(start)} UTC, usually {median:,.0f})"


def _interval_ms(urn: str, catalog: Mapping[str, DatasetSpec] | None) -> int | None:
    spec = catalog.get(urn) if catalog else None
    if spec is None or spec.slo.freshness is None:
        return None
    return int(parse_duration(spec.slo.freshness.expected_interval) * 1000)


def _upstream_services(g: GraphStore, urn: str) -> dict[str, int]:
    """Producers of the datasets up to `UPSTREAM_HOPS` FEEDS hops above `urn`, with their distance."""
    out: dict[str, int] = {}
    seen = {gm.node_id(gm.DATASET, urn)}
    frontier = sorted(seen)
    for hops in range(1, UPSTREAM_HOPS + 1):
        frontier = sorted({e.src for e in g.edges_from(frontier, [gm.FEEDS], "in")} - seen)
        if not frontier:
            break
        seen |= set(frontier)
        for e in g.edges_from(frontier, [gm.OWNED_BY], "out"):
            out.setdefault(gm.split_id(e.dst)[1], hops)
    return out


def _identity(facts: ArrivalFacts, service: str) -> str | None:
    levels = Counter(ev.producer.confidence for ev in facts.before + facts.after
                     if ev.producer is not None and ev.producer.id == service)
    return levels.most_common(1)[0][0] if levels else None


def _version_seen(facts: ArrivalFacts, service: str, version: str, relation: str) -> conf.VersionSeen:
    if relation in ("upstream", "none"):
        return "upstream"

    def versions(items: Sequence[Evidence]) -> Counter[str | None]:
        return Counter(ev.producer.version for ev in items if ev.producer is not None and ev.producer.id == service)

    before, after = versions(facts.before), versions(facts.after)
    if facts.kind == VOLUME_ANOMALY:
        if not after:
            return "unknown"
        return "deployed" if after.most_common(1)[0][0] == version else "other_version"
    if before and before.most_common(1)[0][0] == version:
        return "deployed"  # the version had been running and is the one that went silent
    return "resumed_with_it" if version in after else "never_sent"
