"""Repository protocols: what the pipeline needs from storage. SQL implementations live beside this
(`stores/sql/`, SQLAlchemy Core on SQLite or PostgreSQL); in-memory ones serve unit tests.

Times are epoch milliseconds (ints) in the API; stored rows also keep ISO text where the payload has it.
All writes are idempotent by primary key, so re-processing the same input never double counts.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import msgspec

from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident, Notification
from signal_factory.model.tally import PassTally
from signal_factory.signals.model import Signal, SignalState


class SignatureStats(msgspec.Struct, frozen=True):
    signature: str
    dataset_urn: str
    count: int
    first_seen_ms: int
    last_seen_ms: int
    first_evidence_id: str


class EvidenceFilter(msgspec.Struct, frozen=True):
    """What the evidence browser asks for: every field optional (None: any); event time in [start_ms, end_ms).
    `producer` is the producing service (`producer.id`)."""

    dataset_urn: str | None = None
    result: str | None = None
    signature: str | None = None
    producer: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None


#: A browse position: (event ms, evidence id) of the last row seen; the next page starts strictly after it.
BrowseCursor = tuple[int, str]


class EvidenceRepo(Protocol):
    def add_many(self, evidence: Sequence[Evidence], tallies: Sequence[PassTally] = ()) -> list[str]:
        """Insert evidence (ignoring ids already stored) and PASS tallies; return the ids newly inserted."""
        ...

    def get(self, evidence_id: str) -> Evidence | None: ...

    def by_dataset(self, dataset_urn: str, start_ms: int, end_ms: int, *, result: str | None = None,
                   limit: int = 1000) -> list[Evidence]:
        """Evidence whose event time is in [start_ms, end_ms), oldest first."""
        ...

    def by_source(self, topic: str | None, partition: int | None, offset: int, *, limit: int = 100) -> list[Evidence]:
        """Evidence of the record at these Kafka coordinates (the enforcer's and every stream processor's that
        consumed it), oldest first; `partition` None matches any partition."""
        ...

    def by_signature(self, signature: str, *, dataset_urn: str | None = None, limit: int = 1000) -> list[Evidence]:
        """Evidence carrying this reason code, oldest first."""
        ...

    def signature_stats(self, signature: str, dataset_urn: str | None = None) -> list[SignatureStats]:
        """Count and first/last seen of a signature, per dataset."""
        ...

    def signature_last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        """Latest event time (< before_ms) at which this dataset showed this signature, or None."""
        ...

    def signature_times(self, signature: str, dataset_urn: str, start_ms: int, end_ms: int, *,
                        limit: int = 20000) -> list[tuple[int, str]]:
        """(event ms, evidence id) of the evidence carrying this reason code on this dataset, with event time in
        [start_ms, end_ms), oldest first: when a signature arrived, without decoding documents (RCA onsets)."""
        ...

    def minute_counts(self, dataset_urn: str, start_ms: int, end_ms: int) -> dict[int, int]:
        """Records per event-time minute (evidence of every result plus sampled-out PASS tallies) whose minute
        starts in [start_ms, end_ms); minutes without records are absent."""
        ...

    def by_run(self, run_id: str, *, limit: int = 10000) -> list[Evidence]: ...

    def browse(self, where: EvidenceFilter, *, after: BrowseCursor | None = None, newest_first: bool = True,
               limit: int = 50) -> list[Evidence]:
        """Evidence matching `where`, ordered by (event time, id) newest first (or oldest first), starting
        strictly after the cursor `after` in that order."""
        ...

    def count(self, where: EvidenceFilter) -> int:
        """How many evidence records match `where` (the browser's total)."""
        ...

    def tallies(self, dataset_urn: str, start_ms: int, end_ms: int) -> list[PassTally]:
        """Sampled-out PASS counts whose minute starts in [start_ms, end_ms)."""
        ...

    def purge_older_than(self, cutoff_ms: int) -> int:
        """Retention: delete evidence (and tallies) with event time before cutoff; return rows removed."""
        ...


class SignalRepo(Protocol):
    def add(self, signal: Signal) -> bool:
        """Store a signal (idempotent by signal_id); False if it was already there."""
        ...

    def get(self, signal_id: str) -> Signal | None: ...

    def list(self, *, dataset_urn: str | None = None, signal_type: str | None = None, since_ms: int | None = None,
             limit: int = 100) -> list[Signal]:
        """Newest first (by signal timestamp, then revision)."""
        ...

    def put_state(self, state: SignalState) -> None: ...

    def get_state(self, dataset_urn: str, state_key: str) -> SignalState | None: ...

    def states(self, dataset_urn: str | None = None) -> builtins.list[SignalState]: ...


class IncidentRepo(Protocol):
    def next_id(self) -> str:
        """A new incident id `INC-<n>`, increasing."""
        ...

    def get(self, incident_id: str) -> Incident | None: ...

    def find_open(self, dataset_urn: str, failure_signature: str) -> Incident | None:
        """The OPEN or ACKNOWLEDGED incident for this (dataset, signature), if any."""
        ...

    def put(self, incident: Incident) -> None:
        """Insert or replace by incident_id."""
        ...

    def list(self, *, status: str | None = None, dataset_urn: str | None = None, limit: int = 100) -> list[Incident]:
        """Newest first."""
        ...


class OutboxRepo(Protocol):
    def enqueue(self, notification: Notification) -> None:
        """Idempotent by notification_id."""
        ...

    def due(self, now_s: float, limit: int = 100) -> list[Notification]:
        """PENDING notifications whose next_attempt_at <= now_s, oldest first."""
        ...

    def mark_sent(self, notification_id: str, attempts: int) -> None: ...

    def mark_failed(self, notification_id: str, attempts: int, next_attempt_at: float, error: str,
                    dead: bool = False) -> None: ...

    def mark_muted(self, notification_id: str, why: str) -> None:
        """Not sent, on purpose: a mute covered it when it was due (final, like SENT)."""
        ...

    def list(self, *, status: str | None = None, limit: int = 100) -> list[Notification]: ...


class CheckpointRepo(Protocol):
    """Input positions and engine state, saved together in the caller's transaction."""

    def get(self, source_key: str) -> int | None:
        """Last fully processed position (line number, offset) of an input, or None."""
        ...

    def put(self, source_key: str, position: int) -> None: ...

    def load_state(self, name: str) -> bytes | None:
        """A named opaque state blob (e.g. the signal engines' snapshot)."""
        ...

    def save_state(self, name: str, blob: bytes) -> None: ...

    def states_named(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every named state blob whose name starts with `prefix`, as (name, blob), by name."""
        ...


class Store(Protocol):
    """All repositories over one database; `transaction()` makes a unit of work atomic."""

    evidence: EvidenceRepo
    signals: SignalRepo
    incidents: IncidentRepo
    outbox: OutboxRepo
    checkpoints: CheckpointRepo
    graph: GraphStore

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


def iter_batches(items: Sequence[Evidence], size: int) -> Iterator[Sequence[Evidence]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
