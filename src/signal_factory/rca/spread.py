"""Causes of an incident keyed by its signal type: failures spread over many signatures, none dominant.

The paging policy keys a CONTRACT_BREACH / DQ_BREACH incident by the signal type when no failure signature
holds `paging.dominant_share` of the failures (docs/signals-and-alerting.md, "Incident keys"). One deploy
that breaks eight fields makes such an incident. No single signature explains it; the question is what the
top failures have in common. So:

* Signatures: those that CAUSED the incident's signals (each signal's top failures) and the new ones listed on
  it, on the incident's dataset (at most `MAX_SIGNATURES`). For each, from the evidence store: its failing
  records in the incident's span (the windows of its signals), the first of them, and who produced a few of
  them (`SAMPLES`, spread over the span: producer, version, identity).
* Candidates: deployments from `WINDOW_S` before the first failure to the end of the span, and those linked by
  INTRODUCED to any of the signatures. A deployment *covers* a signature whose sampled records are mostly its
  service at its version (or that it INTRODUCED); with none of that, the signatures its service produced at
  another version; a deployment of a service that produced none of the failures is ruled out.
* Each candidate is scored with the usual factors (`confidence.py`), measured on what it covers: `temporal`
  to the first failure among its signatures, `producer_match` and `identity` on their records, and
  `signature_determinism` becomes coverage: the share of all the incident's failures its signatures carry.
  So the deploy behind six of eight signatures scores below the one behind all eight, and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from signal_factory.graph import model as gm
from signal_factory.graph.model import Node
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident
from signal_factory.rca import confidence as conf
from signal_factory.rca.causes import WINDOW_S, Candidate, Subject
from signal_factory.rca.confidence import duration
from signal_factory.rca.lookups import Deployment, clock, deployment, iso, to_ms
from signal_factory.rca.report import DEPLOYMENT, UNKNOWN, IncidentSignature, RootCause
from signal_factory.signals.model import CONTRACT_BREACH, DQ_BREACH
from signal_factory.stores.ports import EvidenceRepo

KINDS = (CONTRACT_BREACH, DQ_BREACH)
MAX_SIGNATURES = 40
SAMPLES = 5  # records read per signature to learn who produced it
MAX_TIMES = 20_000  # failing records counted per signature and span
LISTED = 5  # signatures named in a sentence; the report lists them all


@dataclass
class SignatureFacts:
    reason_code: str
    fs_id: str
    count: int  # failing records carrying it in the incident's span
    first_ms: int
    first_evidence_id: str
    first: Evidence | None  # that record
    producers: Counter[tuple[str, str | None]] = field(default_factory=Counter)  # sampled (service, version)
    identity: str | None = None  # the best identity among the samples (HIGH > MEDIUM > LOW)
    introduced_by: set[str] = field(default_factory=set)

    @property
    def producer(self) -> tuple[str, str | None] | None:
        """The service and version most of its sampled records name."""
        return self.producers.most_common(1)[0][0] if self.producers else None


@dataclass
class SpreadFacts:
    dataset_urn: str
    start_ms: int
    end_ms: int
    signatures: list[SignatureFacts]  # most failing records first
    covers: dict[str, list[str]] = field(default_factory=dict)  # candidate key -> reason codes it covers

    @property
    def total(self) -> int:
        return sum(s.count for s in self.signatures)

    def by_code(self) -> dict[str, SignatureFacts]:
        return {s.reason_code: s for s in self.signatures}


def is_spread(incident: Incident) -> bool:
    """Keyed by its signal type (failures over many codes), not by one failure signature."""
    return incident.failure_signature in KINDS


def gather(g: GraphStore, evidence: EvidenceRepo, incident: Incident, signal_ids: Sequence[str],
           fs_nodes: Mapping[str, Node]) -> SpreadFacts:
    """The incident's signatures with their failing records in its span and who produced them."""
    urn = incident.dataset_urn
    start, end = _span(g, incident, signal_ids)
    suffix = "@" + urn
    codes = [n.key[: -len(suffix)] for n in fs_nodes.values() if n.key.endswith(suffix)]
    codes += [c for c in incident.new_signatures if c not in codes]
    codes = [c for c in dict.fromkeys(codes) if c not in KINDS][:MAX_SIGNATURES]
    ids = {c: gm.node_id(gm.FAILURE_SIGNATURE, gm.signature_key(c, urn)) for c in codes}
    introduced: dict[str, set[str]] = {}
    for e in g.edges_from(sorted(ids.values()), [gm.INTRODUCED], "in"):
        introduced.setdefault(e.dst, set()).add(e.src)
    out = []
    for code in codes:
        times = evidence.signature_times(code, urn, start, end, limit=MAX_TIMES)
        if not times:
            continue
        picks = sorted({times[round(i * (len(times) - 1) / max(SAMPLES - 1, 1))][1] for i in range(SAMPLES)})
        sampled = [ev for ev in (evidence.get(i) for i in picks) if ev is not None]
        first = next((ev for ev in sampled if ev.evidence_id == times[0][1]), None)
        facts = SignatureFacts(reason_code=code, fs_id=ids[code], count=len(times), first_ms=times[0][0],
                               first_evidence_id=times[0][1], first=first,
                               introduced_by=introduced.get(ids[code], set()))
        for ev in sampled:
            if ev.producer is not None:
                facts.producers[ev.producer.id, ev.producer.version] += 1
                facts.identity = _better(facts.identity, ev.producer.confidence)
        out.append(facts)
    out.sort(key=lambda s: (-s.count, s.first_ms, s.reason_code))
    return SpreadFacts(dataset_urn=urn, start_ms=start, end_ms=end, signatures=out)


def _span(g: GraphStore, incident: Incident, signal_ids: Sequence[str]) -> tuple[int, int]:
    """From the first window start to the last window end of the incident's breaching signals."""
    nodes = [n for n in g.nodes_by_id(list(signal_ids)).values()
             if n.props.get("type") in KINDS and n.props.get("state") not in (None, "OK", "UNKNOWN")]
    starts = [t for n in nodes if (t := to_ms(n.props.get("window_start"))) is not None]
    ends = [t for n in nodes if (t := to_ms(n.props.get("window_end")) or n.ts_ms) is not None]
    created = to_ms(incident.created_at) or 0
    start = min(starts, default=created - 300_000)
    end = max([*ends, to_ms(incident.updated_at) or created])
    return start, end + 1


def _better(a: str | None, b: str | None) -> str | None:
    rank = {"HIGH": 3, "MEDIUM": 2, "LOW": 1}
    return max((x for x in (a, b) if x), key=lambda x: rank.get(x, 0), default=None)


def candidates(g: GraphStore, facts: SpreadFacts) -> list[Candidate]:
    """Every deployment near the failures, scored on the signatures it covers (fills `facts.covers`)."""
    sigs = facts.signatures
    if not sigs:
        return []
    first = min(s.first_ms for s in sigs)
    nodes = {n.id: n for n in g.nodes_of_kind(gm.DEPLOYMENT, start_ms=first - WINDOW_S * 1000, end_ms=facts.end_ms)}
    missing = sorted({d for s in sigs for d in s.introduced_by} - nodes.keys())
    nodes.update(g.nodes_by_id(missing))
    out = []
    for node in nodes.values():
        d = deployment(node)
        covered, match = _covered(d, sigs)
        facts.covers[d.id] = [s.reason_code for s in covered]
        out.append(_candidate(d, covered or sigs, match, facts))
    return out


def _covered(d: Deployment, sigs: Sequence[SignatureFacts]) -> tuple[list[SignatureFacts], conf.ProducerMatch]:
    exact = [s for s in sigs if s.producer == (d.service, d.version) or d.id in s.introduced_by]
    if exact:
        return exact, "exact"
    same = [s for s in sigs if s.producer is not None and s.producer[0] == d.service]
    if same:
        return same, "version_mismatch" if any(s.producer and s.producer[1] for s in same) else "service"
    anonymous = [s for s in sigs if s.producer is None]
    if anonymous:
        return anonymous, "unknown"
    return [], "other_service"


def _candidate(d: Deployment, covered: Sequence[SignatureFacts], match: conf.ProducerMatch,
               facts: SpreadFacts) -> Candidate:
    onset = min(s.first_ms for s in covered)
    seconds = (onset - d.deployed_ms) / 1000 if d.deployed_ms is not None else None
    votes: Counter[tuple[str, str | None]] = Counter()
    for s in covered:
        votes.update(s.producers)
    producer, version = votes.most_common(1)[0][0] if votes else (None, None)
    identity = None
    for s in covered:
        identity = _better(identity, s.identity)
    n = len(covered) if match != "other_service" else 0
    cf = conf.CauseFacts(kind=DEPLOYMENT, service=d.service, version=d.version, seconds=seconds, producer=producer,
                         producer_version=version, producer_match=match, signature=facts.dataset_urn,
                         signature_count=sum(s.count for s in covered) if n else 0, concurrent_failures=facts.total,
                         identity=identity, marker="inferred" if d.inferred else "marker",
                         signatures_covered=n, signatures_total=len(facts.signatures))
    excluded = seconds is not None and seconds < 0
    return Candidate(DEPLOYMENT, d.service, cf, conf.score(cf), d, facts.dataset_urn,
                     eligible=not excluded and match != "other_service", excluded=excluded)


def unknown(subject: Subject, facts: SpreadFacts) -> Candidate:
    """No deployment explains the failures: scored on what is known of them, coverage by the largest one."""
    top = facts.signatures[0] if facts.signatures else None
    cf = conf.CauseFacts(kind=UNKNOWN, producer=subject.producer, producer_version=subject.producer_version,
                         signature=top.reason_code if top else facts.dataset_urn,
                         signature_count=top.count if top else 0, concurrent_failures=facts.total,
                         identity=subject.identity, signatures_covered=1 if top else 0,
                         signatures_total=len(facts.signatures), reference=subject.reference)
    return Candidate(UNKNOWN, None, cf, conf.score(cf), dataset_urn=facts.dataset_urn)


def subject(incident: Incident, facts: SpreadFacts, codes: Sequence[str] | None = None) -> Subject:
    """What the report is about: the failures of `codes` (the chosen cause's signatures; default all)."""
    by_code = facts.by_code()
    mine = [by_code[c] for c in codes if c in by_code] if codes else list(facts.signatures)
    earliest = min(mine, key=lambda s: (s.first_ms, s.reason_code), default=None)
    summary = incident.evidence_summary
    failing = earliest.first if earliest is not None else None
    s = Subject(reason_code=earliest.reason_code if earliest else incident.failure_signature,
                dataset_urn=incident.dataset_urn, fs_id="", first_ms=earliest.first_ms if earliest else None,
                first_evidence_id=earliest.first_evidence_id if earliest else None, failing=failing,
                signature_count=sum(x.count for x in mine), concurrent_failures=facts.total,
                total_events=summary.total_events if summary else None,
                failed_events=summary.failed_events if summary else None)
    p = failing.producer if failing is not None else None
    if p is not None:
        s.producer, s.producer_version, s.identity = p.id, p.version, p.confidence
    elif incident.suspected_producer is not None:
        sp = incident.suspected_producer
        s.producer, s.producer_version, s.identity = sp.service, sp.version, sp.confidence
    return s


def signature_rows(facts: SpreadFacts, covered: Sequence[str]) -> list[IncidentSignature]:
    """The report's list: every signature of the incident, with whether the root cause covers it."""
    rows = []
    for s in facts.signatures:
        p = s.producer
        rows.append(IncidentSignature(reason_code=s.reason_code, count=s.count, first_failure=iso(s.first_ms),
                                      first_evidence_id=s.first_evidence_id, producer=p[0] if p else None,
                                      producer_version=p[1] if p else None, explained=s.reason_code in covered))
    return rows


def named(codes: Sequence[str]) -> str:
    """'A, B, C, D, E and 3 more' (at most `LISTED` named)."""
    shown = list(codes[:LISTED])
    rest = len(codes) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    return ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1] if shown else ""


def what_it_does(codes: Sequence[str]) -> str:
    """What a deploy's records do, for statements and actions ('breaks 8 contract checks at once (...)')."""
    return f"breaks {len(codes)} contract checks at once ({named(codes)})" if len(codes) > 1 else \
        f"produces records failing {codes[0]}" if codes else "produces failing records"


def root_cause(s: Subject, c: Candidate, weighed: Sequence[Candidate], facts: SpreadFacts) -> RootCause:
    """The statement: which deployment introduced which of the incident's signatures, and how much of it."""
    m, total, d = len(facts.signatures), facts.total, c.deployment
    if c.kind == DEPLOYMENT and d is not None:
        codes = facts.covers.get(d.id, [])
        share = s.signature_count / total if total else 0.0
        how = " (inferred from the evidence, no deployment marker)" if d.inferred else ""
        after = f"{duration(c.facts.seconds)} after it, " if c.facts.seconds is not None else ""
        which = f"all {m} failure signatures" if len(codes) == m else f"{len(codes)} of the {m} failure signatures"
        does = f"fail {len(codes)} contract checks at once" if len(codes) > 1 else f"fail {named(codes)}"
        text = (f"Deployment {d.label} at {clock(d.deployed_ms)} UTC{how} introduced {which} of this incident on "
                f"{facts.dataset_urn} ({named(codes)}), {s.signature_count:,} of its {total:,} failures "
                f"({share:.0%}): {after}{d.service}'s records {does}.")
        rest = [x.reason_code for x in facts.signatures if x.reason_code not in codes]
        if rest:
            text += f" It does not explain {named(rest)}."
        return RootCause(kind=DEPLOYMENT, statement=text, service=d.service, version=d.version,
                         deployed_at=iso(d.deployed_ms), commit=d.commit, inferred=d.inferred,
                         reason_code=s.reason_code, dataset_urn=facts.dataset_urn, first_failure=iso(s.first_ms),
                         seconds_to_first_failure=c.facts.seconds, signatures=list(codes))
    codes = [x.reason_code for x in facts.signatures]
    text = (f"No deployment in the graph explains the {m} failure signatures on {facts.dataset_urn}"
            f"{f' ({named(codes)})' if codes else ''}: ")
    near = [x.deployment.label for x in weighed if x.deployment is not None and not x.excluded]
    text += (f"the deployments near them ({', '.join(near)}) produced none of them" if near else
             f"nothing was deployed in the {duration(WINDOW_S)} before the first failure "
             f"at {clock(s.first_ms, with_date=True)} UTC")
    if s.producer:
        version = f" {s.producer_version}" if s.producer_version else ""
        text += f"; the first failing records come from {s.producer}{version} ({s.identity or 'unknown'} identity)"
    text += ". The cause is outside what the graph records; confidence is low."
    return RootCause(kind=UNKNOWN, statement=text, service=s.producer, version=s.producer_version,
                     reason_code=s.reason_code, dataset_urn=facts.dataset_urn, first_failure=iso(s.first_ms))
