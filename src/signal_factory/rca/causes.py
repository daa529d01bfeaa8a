"""Candidate causes of one failure signature, scored with `confidence.score`, and the choice among them.

Candidates: every deployment linked to the signature by INTRODUCED, every deployment of any service in
the `WINDOW_S` before the breach's onset (and `AFTER_S` after it, to show why those are excluded), and
the producer on a PRODUCED_DRIFT edge. The onset is the first failure, or, for a signature that was already
there at a background rate, the jump of that rate that began the breach (`Subject.onset_ms`). A deployment
of a service other than the failing records' producer is weighed but cannot be named the cause; a
deployment after the onset is excluded.
When no candidate is eligible, the cause is UNKNOWN, scored on what is known, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from signal_factory.graph import model as gm
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.rca import confidence as conf
from signal_factory.rca.lookups import Deployment, clock, deployment
from signal_factory.rca.report import DEPLOYMENT, UNKNOWN, UPSTREAM_DRIFT, Alternative, Confidence

WINDOW_S = 2 * 3600
AFTER_S = 600


@dataclass
class Subject:
    """What is known about the failure being explained, before any cause is chosen."""

    reason_code: str
    dataset_urn: str
    fs_id: str
    first_ms: int | None
    first_evidence_id: str | None = None
    failing: Evidence | None = None  # evidence that names the producer (primary, else first)
    producer: str | None = None
    producer_version: str | None = None
    identity: str | None = None
    signature_count: int = 0
    concurrent_failures: int = 0
    total_events: int | None = None
    failed_events: int | None = None
    introduced_by: set[str] = field(default_factory=set)
    onset_ms: int | None = None  # the breach began here, after first_ms, when the signature's rate jumped
    onset_note: str | None = None  # e.g. 'MISSING_FIELD:currency went from 0.5 to 143 a minute'
    reference_name: str | None = None  # what the onset is called, when it is no breach of a signature

    @property
    def ref_ms(self) -> int | None:
        """The instant a cause must precede: the breach's onset."""
        return self.onset_ms if self.onset_ms is not None else self.first_ms

    @property
    def reference(self) -> str:
        if self.reference_name:
            return self.reference_name
        return "breach onset" if self.onset_ms is not None else "first failure"


@dataclass(frozen=True)
class Candidate:
    kind: str
    service: str | None
    facts: conf.CauseFacts
    confidence: Confidence
    deployment: Deployment | None = None
    dataset_urn: str | None = None  # where this candidate's failures were seen
    eligible: bool = True
    excluded: bool = False


def _facts(subject: Subject, kind: str, *, service: str | None = None, version: str | None = None,
           seconds: float | None = None, match: conf.ProducerMatch = "unknown",
           marker: conf.Marker = "none") -> conf.CauseFacts:
    return conf.CauseFacts(kind=kind, service=service, version=version, seconds=seconds, producer=subject.producer,
                           producer_version=subject.producer_version, producer_match=match,
                           signature=subject.reason_code, signature_count=subject.signature_count,
                           concurrent_failures=subject.concurrent_failures, identity=subject.identity, marker=marker,
                           reference=subject.reference)


def deployment_candidates(graph: GraphStore, subject: Subject) -> list[Candidate]:
    """Deployments near the onset or linked by INTRODUCED, each scored (two graph queries)."""
    nodes = {}
    ref = subject.ref_ms
    if ref is not None:
        for n in graph.nodes_of_kind(gm.DEPLOYMENT, start_ms=ref - WINDOW_S * 1000, end_ms=ref + AFTER_S * 1000):
            nodes[n.id] = n
    missing = sorted(subject.introduced_by - nodes.keys())
    nodes.update(graph.nodes_by_id(missing))
    out = []
    for n in nodes.values():
        d = deployment(n)
        seconds = None
        if ref is not None and d.deployed_ms is not None:
            seconds = (ref - d.deployed_ms) / 1000
        match = conf.producer_match(d.service, d.version, subject.producer, subject.producer_version)
        facts = _facts(subject, DEPLOYMENT, service=d.service, version=d.version, seconds=seconds, match=match,
                       marker="inferred" if d.inferred else "marker")
        excluded = seconds is not None and seconds < 0
        out.append(Candidate(DEPLOYMENT, d.service, facts, conf.score(facts), d, subject.dataset_urn,
                             eligible=not excluded and match != "other_service", excluded=excluded))
    return out


def drift_candidate(subject: Subject, service: str, seconds: float | None, warn: Evidence | None) -> Candidate:
    """The producer on a PRODUCED_DRIFT edge, judged by its first real-time evidence."""
    producer = warn.producer if warn is not None else None
    facts = _facts(subject, UPSTREAM_DRIFT, service=service, seconds=seconds, marker="drift_edge")
    if producer is not None:
        facts.producer, facts.producer_version, facts.identity = producer.id, producer.version, producer.confidence
        facts.producer_match = "exact" if producer.id == service else "other_service"
    else:
        facts.producer, facts.producer_match = service, "service"
    return Candidate(UPSTREAM_DRIFT, service, facts, conf.score(facts), dataset_urn=subject.dataset_urn,
                     eligible=facts.producer_match != "other_service")


def unknown_candidate(subject: Subject) -> Candidate:
    facts = _facts(subject, UNKNOWN)
    return Candidate(UNKNOWN, None, facts, conf.score(facts), dataset_urn=subject.dataset_urn)


def dedupe(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per deployment (or drift producer): the best-scoring view of it."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        key = c.deployment.id if c.deployment is not None else f"{c.kind}:{c.service}"
        if key not in best or c.confidence.score > best[key].confidence.score:
            best[key] = c
    return list(best.values())


def _label(c: Candidate) -> str:
    if c.deployment is not None:
        return c.deployment.label
    return f"{c.service} (upstream drift)" if c.kind == UPSTREAM_DRIFT else "unknown"


def _why_lost(loser: Candidate, winner: Candidate | None) -> str:
    reasons = {r.factor: r for r in loser.confidence.reasons}
    if loser.excluded:
        return reasons["temporal"].text
    if not loser.eligible:
        return (reasons.get("producer_match") or reasons["relation"]).text
    if winner is None:
        return "not chosen"
    theirs = {r.factor: r.effect for r in winner.confidence.reasons}
    worst = max(loser.confidence.reasons, key=lambda r: theirs.get(r.factor, 0.0) - r.effect)
    return (f"scored {loser.confidence.score:.0%} against {winner.confidence.score:.0%} for {_label(winner)}: "
            f"{worst.text}")


def choose(candidates: Sequence[Candidate], subject: Subject,
           unknown: Candidate | None = None) -> tuple[Candidate, list[Alternative]]:
    """The eligible candidate with the highest score (a later deploy wins a tie), else UNKNOWN (`unknown`, or
    one scored on the subject); the rest become alternatives, best first, each with the reason it lost."""
    eligible = [c for c in candidates if c.eligible]
    winner = max(eligible, default=None,
                 key=lambda c: (c.confidence.score, (c.deployment.deployed_ms or 0) if c.deployment else 0))
    chosen = winner if winner is not None else unknown or unknown_candidate(subject)
    alternatives = []
    for c in sorted(candidates, key=lambda c: (c.excluded, -c.confidence.score, _label(c))):
        if c is winner:
            continue
        d = c.deployment
        alternatives.append(Alternative(
            service=c.service or "?", version=d.version if d else None,
            deployed_at=f"{clock(d.deployed_ms, with_date=True)} UTC" if d and d.deployed_ms else None,
            score=None if c.excluded else c.confidence.score,
            verdict="excluded" if c.excluded else "ruled_out" if not c.eligible else "lost",
            why=_why_lost(c, winner)))
    return chosen, alternatives


def previous_deployment(graph: GraphStore, culprit: Deployment) -> Deployment | None:
    """The service's latest deployment before the culprit (via Service -[DEPLOYED]-> Deployment)."""
    edges = graph.edges_from([gm.node_id(gm.SERVICE, culprit.service)], [gm.DEPLOYED], "out")
    nodes = graph.nodes_by_id([e.dst for e in edges if e.dst != culprit.id])
    before = [d for d in map(deployment, nodes.values())
              if d.deployed_ms is not None and culprit.deployed_ms is not None and d.deployed_ms < culprit.deployed_ms]
    return max(before, key=lambda d: d.deployed_ms or 0, default=None)
