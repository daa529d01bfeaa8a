"""Ground truth: what each scenario should page, why, and what it hurts. Written by the generators.

A `PageLabel` is one incident an on-call engineer must be paged for: the dataset, the kind of breakage,
its onset (the event time of the first record a fault made bad; for a volume drop or a stall, the
instant the producer's broken version went live), when the breakage ended, its cause (the deploy that
did it, or the upstream producer change that drifted into a batch job), the true blast radius (every
dataset downstream of it, from the generator's own lineage) and whether the target "SEV-1 within 10 s"
applies (`fast`: >= 2 records/s on the dataset with >= 50% of them failing, on a tier-1 dataset).

Everything else a scenario's traffic shows (sporadic noise, innocent deploys, sub-threshold failures,
late records, an enum value the stream contract only warns about) must not page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.detection.traffic import Rec
from benchmarks.detection.world import World

CONTRACT = "contract"
VOLUME = "volume"
FRESHNESS = "freshness"
BATCH = "batch"
DEPLOY = "deploy"
UPSTREAM = "upstream"
#: A page still belongs to a label up to this long after the breakage ended (one 5-minute window).
GRACE_MS = 5 * 60_000


@dataclass(frozen=True)
class Cause:
    service: str
    version: str
    kind: str = DEPLOY  # deploy | upstream (a producer change that drifted into a batch job)


@dataclass(frozen=True)
class PageLabel:
    dataset: str
    kind: str
    onset_ms: int
    end_ms: int
    cause: Cause
    blast_radius: frozenset[str]
    expect_sev1: bool
    fast: bool = False
    note: str = ""

    def covers(self, dataset: str, at_ms: int) -> bool:
        """A page on `dataset` at event time `at_ms` is this incident's page."""
        return dataset == self.dataset and self.onset_ms <= at_ms <= self.end_ms + GRACE_MS


@dataclass(frozen=True)
class BatchRun:
    """A Spark job's run: its evidence (JSON lines, as the job POSTs them) and its OpenLineage events."""

    evidence: list[bytes]
    openlineage: list[bytes]


@dataclass
class Scenario:
    name: str
    title: str
    world: World
    records: list[Rec]  # in arrival order
    markers: list[dict[str, str]]
    pages: list[PageLabel]
    start_ms: int
    end_ms: int
    arrival_order: bool = False  # feed records as they arrive (late, out of order) instead of replay's sort
    batch: BatchRun | None = None
    extra_ms: int = 0  # labelled time outside the stream span (the batch run)
    notes: list[str] = field(default_factory=list)

    @property
    def clean_ranges(self) -> list[tuple[int, int]]:
        """Event-time ranges of the traffic outside every labelled breakage (and its grace): no page belongs
        there on any dataset."""
        busy = sorted((max(p.onset_ms, self.start_ms), min(p.end_ms + GRACE_MS, self.end_ms))
                      for p in self.pages if p.onset_ms < self.end_ms)
        out, cursor = [], self.start_ms
        for lo, hi in busy:
            if lo > cursor:
                out.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < self.end_ms:
            out.append((cursor, self.end_ms))
        return out

    @property
    def clean_ms(self) -> int:
        """Clean traffic time (the denominator of false pages per 24 h)."""
        return sum(hi - lo for lo, hi in self.clean_ranges)


def first_faulty(records: Sequence[Rec], service: str, version: str, topic: str) -> int:
    """Event time of the first record `service` `version` broke on `topic` (the label's onset)."""
    times = [r.event_ms for r in records if r.faulty and r.service == service and r.version == version
             and r.topic == topic]
    if not times:
        raise ValueError(f"no faulty record of {service} {version} on {topic}: the scenario is mis-built")
    return min(times)


def contract_label(world: World, records: Sequence[Rec], topic: str, cause: Cause, end_ms: int, *,
                   fast: bool, note: str = "") -> PageLabel:
    """The page a contract breach on `topic` by `cause` must raise (SEV-1 expected on tier 1)."""
    urn = world.topics[topic].urn
    tier = world.datasets[urn].tier
    return PageLabel(urn, CONTRACT, first_faulty(records, cause.service, cause.version, topic), end_ms, cause,
                     world.downstream(urn), expect_sev1=tier == 1, fast=fast and tier == 1, note=note)
