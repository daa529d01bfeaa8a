"""A stream processor's failure, walked back along its correlation chain to the record it came from and its deploy.

A processor (a Flink job, a Kafka Streams app) that fails records names where each came from: its evidence's
`correlation_chain` (evidence ids or Kafka coordinates of its inputs, seed 3.4) and, for the first node of a
topology, its `source` (the coordinates of the record it consumed). `walk` follows those links from the
incident's failing evidence, one hop per processor, to evidence that no processor made: the enforcer's evidence of
the source record, which names the producer and the version that sent it (gate G2).

When that source record failed too, the failure is the producer's before it is the processor's. `source_subject`
describes it on the source dataset (its signature there, when it was first seen, and the rate jump that began it,
`rca/onset.py`), so `causes.deployment_candidates` weighs the producer's deployments against it exactly as for an
incident on the source dataset: a deploy after which the source's failure began is named, with the chain
processor -> source record -> producer deploy shown in the report (`StreamHop`s). A source record that passed
leaves the processor's own candidates (its own deploy) to explain the failure.

Reads: one evidence fetch (by id, or by coordinates through the `source_*` index) per hop, at most `MAX_HOPS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signal_factory.graph import model as gm
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import FAIL, WARN, Evidence
from signal_factory.model.stream import chain_links
from signal_factory.rca import onset
from signal_factory.rca.causes import Candidate, Subject
from signal_factory.rca.lookups import clock, iso, to_ms
from signal_factory.rca.report import StreamHop
from signal_factory.stores.ports import EvidenceRepo

#: Processors walked through at most (a topology deeper than this is cut, the report shows how far it got).
MAX_HOPS = 8
#: The relation of a topology's first node to the record it consumed (its evidence's `source`).
CONSUMED = "CONSUMED"
_LEVEL = {FAIL: 2, WARN: 1}


@dataclass
class StreamFacts:
    """The walk: `path[0]` is the processor's failing evidence, `relations[i]` links `path[i]` to `path[i + 1]`."""

    path: list[Evidence]
    relations: list[str] = field(default_factory=list)
    subject: Subject | None = None  # the failure at the source record, when it failed there too

    @property
    def source(self) -> Evidence | None:
        """The source record's evidence: the last hop, when no processor made it."""
        last = self.path[-1]
        return last if len(self.path) > 1 and last.stream is None else None

    def explains(self, c: Candidate) -> bool:
        """Was `c` found on the source record's failure (not on the processor's own)?"""
        return self.subject is not None and c.dataset_urn == self.subject.dataset_urn and c.deployment is not None


def _upstream(evidence: EvidenceRepo, ev: Evidence, reason_code: str, seen: set[str]) -> tuple[str, Evidence] | None:
    """The evidence `ev` came from: of its links, the one carrying the same signature, else failing, else the
    source record's (not a processor's), else the first."""
    options: list[tuple[str, Evidence]] = []
    links = chain_links(ev.correlation_chain)
    for link in links:
        found = evidence.get(link.evidence_id) if link.evidence_id else None
        near = [found] if found is not None else (
            evidence.by_source(link.topic, link.partition, link.offset) if link.offset is not None else [])
        options += [(link.relation, x) for x in near]
    src = ev.source
    if not links and src is not None and src.offset is not None:
        options += [(CONSUMED, x) for x in evidence.by_source(src.topic, src.partition, src.offset)]
    options = [(r, x) for r, x in options if x.evidence_id not in seen]
    if not options:
        return None
    order = {id(x): i for i, (_, x) in enumerate(options)}
    return max(options, key=lambda o: (reason_code in o[1].validation.reason_codes,
                                       _LEVEL.get(o[1].validation.result, 0), o[1].stream is None, -order[id(o[1])]))


def walk(evidence: EvidenceRepo, start: Evidence, reason_code: str) -> StreamFacts:
    """From a processor's evidence up its correlation chain, hop by hop, until evidence no processor made."""
    facts = StreamFacts([start])
    seen = {start.evidence_id}
    cur = start
    while cur.stream is not None and len(facts.relations) < MAX_HOPS:
        step = _upstream(evidence, cur, reason_code, seen)
        if step is None:
            break
        relation, cur = step
        facts.path.append(cur)
        facts.relations.append(relation)
        seen.add(cur.evidence_id)
    return facts


def source_subject(graph: GraphStore, evidence: EvidenceRepo, facts: StreamFacts, reason_code: str,
                   anchor_ms: int | None) -> Subject | None:
    """The failure at the source record, as a `Subject` on its dataset: the processor's signature if the source
    evidence carries it, else the source's own first one; None when the source record passed (or is unknown).
    `anchor_ms`: the processor's breach, before which the source's onset is looked for."""
    src = facts.source
    if src is None or src.validation.result not in _LEVEL or not src.validation.reason_codes:
        return None
    codes = src.validation.reason_codes
    rc = reason_code if reason_code in codes else codes[0]
    urn = src.dataset_urn
    stats = next(iter(evidence.signature_stats(rc, urn)), None)
    fs_id = gm.node_id(gm.FAILURE_SIGNATURE, gm.signature_key(rc, urn))
    intro = graph.edges_from([fs_id], [gm.INTRODUCED], "in")
    p = src.producer
    subject = Subject(
        reason_code=rc, dataset_urn=urn, fs_id=fs_id, first_ms=stats.first_seen_ms if stats else None,
        first_evidence_id=stats.first_evidence_id if stats else src.evidence_id, failing=src,
        producer=p.id if p else None, producer_version=p.version if p else None, identity=p.confidence if p else None,
        signature_count=stats.count if stats else 1, concurrent_failures=stats.count if stats else 1,
        introduced_by={e.src for e in intro})
    if subject.first_ms is not None and anchor_ms is not None and anchor_ms > subject.first_ms:
        found = onset.signature_onset(evidence, rc, urn, subject.first_ms, anchor_ms)
        if found is not None:
            change = found[0]
            subject.onset_ms = change.at_ms
            subject.onset_note = (f"{rc} went from {onset.per_minute(change.before_per_min)} to "
                                  f"{onset.per_minute(change.after_per_min)} records a minute at "
                                  f"{clock(change.at_ms)} UTC on {urn}")
    return subject


def _label(ev: Evidence) -> str:
    if ev.stream is not None:
        return gm.processor_key(ev.stream.topology_id, ev.stream.processor_node)
    s = ev.source
    if s is not None and s.topic and s.offset is not None:
        return f"{s.topic}[{s.partition if s.partition is not None else '?'}]@{s.offset}"
    return ev.evidence_id


def hops(facts: StreamFacts, chosen: Candidate, reason_code: str) -> list[StreamHop]:
    """The chain for the report: each evidence walked (`reason_code` first among its codes), then the deployment
    when it was found through the chain."""
    out = []
    for i, ev in enumerate(facts.path):
        p = ev.producer
        codes = sorted(ev.validation.reason_codes, key=lambda c: c != reason_code)
        out.append(StreamHop(
            role="processor" if ev.stream is not None else "source_record", label=_label(ev),
            relation=facts.relations[i - 1] if i else None, evidence_id=ev.evidence_id, dataset_urn=ev.dataset_urn,
            result=ev.validation.result, reason_codes=codes[:3],
            producer=p.id if p else None, producer_version=p.version if p else None, at=ev.event_time()))
    d = chosen.deployment
    if d is not None and facts.explains(chosen):
        out.append(StreamHop(role="deployment", label=d.label, relation="DEPLOYED", producer=d.service,
                             producer_version=d.version, at=iso(d.deployed_ms)))
    return out


def chain_line(chain: list[StreamHop]) -> str:
    """`processor enrichment-stream/enrich (FAIL MISSING_FIELD:customer_id) → source record raw.orders.events[0]@1201
    (FAIL MISSING_FIELD:customer_id, orders-svc v3.17) → deploy orders-svc v3.17 at 09:57:45 UTC`."""
    parts = []
    for h in chain:
        if h.role == "deployment":
            parts.append(f"deploy {h.label} at {clock(to_ms(h.at))} UTC" if h.at else f"deploy {h.label}")
            continue
        what = f"{h.result} {h.reason_codes[0]}" if h.reason_codes else h.result or "?"
        who = (f", {h.producer} {h.producer_version or ''}".rstrip()
               if h.role == "source_record" and h.producer else "")
        kind = "processor" if h.role == "processor" else "source record"
        parts.append(f"{kind} {h.label} ({what}{who})")
    return " → ".join(parts)
