"""The parts stream evidence adds to evidence (seed 3.2, 3.4): the `stream` facet and the `correlation_chain`.

They live in the core model (not in the stream SDK, `integrations/stream/`) because every inflow keeps them:
`POST /api/v1/evidence`, the evidence topic and the stores decode evidence as `model.evidence.Evidence`, whose
optional `stream` and `correlation_chain` fields are these types.

A correlation chain comes in either of two shapes, and is kept in the shape it came in:

* ours (the SDK's `EvidenceEmitter`): a list of links,
  `[{"step": 1, "relation": "DERIVED_FROM", "evidence_id": "evd-...", "topic": ..., "partition": ..., "offset": ...}]`;
* the seed's (section 3.4): `{"root_trace_id": "...", "causal_chain": [{"step": 1, "source_evidence_id":
  "evd-...", "relationship": "DERIVED_FROM"}]}` (coordinates accepted on its steps too).

`chain_links` reads either as one list of `Link`s, which is what the graph writer and the RCA walk.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

DERIVED_FROM = "DERIVED_FROM"
AGGREGATED_WITH = "AGGREGATED_WITH"

TUMBLING = "TUMBLING"
HOPPING = "HOPPING"
SESSION = "SESSION"
NO_WINDOW = "NONE"


class Window(msgspec.Struct, omit_defaults=True, kw_only=True):
    """The event-time window the evidence belongs to; start and end are ISO-8601 UTC."""

    type: str = NO_WINDOW
    start: str | None = None
    end: str | None = None


class StreamFacet(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Seed 3.2: which topology and processor node emitted the evidence, its window and watermark."""

    topology_id: str
    processor_node: str
    window: Window | None = None
    watermark: str | None = None
    processing_time: str | None = None
    processing_time_ms: int | None = None
    late_data: bool | None = None  # the SDK always writes it (False too); the seed's shape may leave it out


class CorrelationLink(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One causal step (our shape): this evidence's record was DERIVED_FROM / AGGREGATED_WITH another record,
    named by its evidence id or by its coordinates (or both)."""

    step: int
    relation: str
    evidence_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class CausalStep(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One step of the seed's `causal_chain` (section 3.4); coordinates are accepted as in our links."""

    step: int
    source_evidence_id: str | None = None
    relationship: str = DERIVED_FROM
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class CorrelationChain(msgspec.Struct, omit_defaults=True, kw_only=True):
    """The seed's shape (section 3.4): the trace the whole chain hangs off, and its causal steps."""

    root_trace_id: str | None = None
    causal_chain: list[CausalStep] = msgspec.field(default_factory=list)


#: What `Evidence.correlation_chain` holds: our list of links or the seed's object (msgspec tells them apart
#: by the JSON type, array or object).
Chain = list[CorrelationLink] | CorrelationChain


class Link(NamedTuple):
    """A step of either shape, read the same way."""

    step: int
    relation: str
    evidence_id: str | None
    topic: str | None
    partition: int | None
    offset: int | None


def chain_links(chain: Chain | None) -> list[Link]:
    """The steps of a chain of either shape, in step order."""
    if chain is None:
        return []
    if isinstance(chain, CorrelationChain):
        links = [Link(s.step, s.relationship, s.source_evidence_id, s.topic, s.partition, s.offset)
                 for s in chain.causal_chain]
    else:
        links = [Link(c.step, c.relation, c.evidence_id, c.topic, c.partition, c.offset) for c in chain]
    return sorted(links, key=lambda link: link.step)


def root_trace_id(chain: Chain | None) -> str | None:
    """The seed shape's `root_trace_id` (our shape has none: the evidence's own `otel.trace_id` serves)."""
    return chain.root_trace_id if isinstance(chain, CorrelationChain) else None
