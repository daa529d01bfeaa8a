"""`MemoryStore`: the SQL store's behaviour in dicts, for fast unit tests of the engines.

Same promises as `stores.sql` (idempotent writes, orderings, tallies added on conflict, rollback of
a failed `transaction()`), checked by the same suite in `tests/stores/`. Documents are kept as the
same JSON text the SQL store writes and decoded on read, so callers get fresh objects every time.
Not thread-safe: one test, one thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.ports import GraphStore
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident, Notification
from signal_factory.model.tally import PassTally
from signal_factory.signals.model import Signal, SignalState
from signal_factory.stores import ports
from signal_factory.stores.sql import documents as docs
from signal_factory.stores.sql.documents import EvidenceRow, TallyKey

MINUTE_MS = 60_000


class _SignalRow(NamedTuple):
    signal_type: str
    dataset_urn: str
    ts_ms: int
    revision: int
    doc: str


class _IncidentRow(NamedTuple):
    status: str
    dataset_urn: str
    failure_signature: str
    created_ms: int
    doc: str


class _OutboxRow(NamedTuple):
    doc: str
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None


@dataclasses.dataclass
class _Tables:
    """Every table as a dict of immutable rows; a shallow copy of each is a snapshot."""

    evidence: dict[str, EvidenceRow] = dataclasses.field(default_factory=dict)
    reasons: dict[tuple[str, str], EvidenceRow] = dataclasses.field(default_factory=dict)  # (signature, id)
    tallies: dict[TallyKey, int] = dataclasses.field(default_factory=dict)
    signals: dict[str, _SignalRow] = dataclasses.field(default_factory=dict)
    states: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    incidents: dict[str, _IncidentRow] = dataclasses.field(default_factory=dict)
    counters: dict[str, int] = dataclasses.field(default_factory=dict)
    outbox: dict[str, _OutboxRow] = dataclasses.field(default_factory=dict)  # in enqueue order
    checkpoints: dict[str, int] = dataclasses.field(default_factory=dict)
    blobs: dict[str, bytes] = dataclasses.field(default_factory=dict)

    def snapshot(self) -> _Tables:
        return _Tables(**{f.name: dict(getattr(self, f.name)) for f in dataclasses.fields(self)})


class MemoryStore:
    def __init__(self) -> None:
        self.tables = _Tables()
        self._in_transaction = False
        self.evidence: ports.EvidenceRepo = MemoryEvidenceRepo(self)
        self.signals: ports.SignalRepo = MemorySignalRepo(self)
        self.incidents: ports.IncidentRepo = MemoryIncidentRepo(self)
        self.outbox: ports.OutboxRepo = MemoryOutboxRepo(self)
        self.checkpoints: ports.CheckpointRepo = MemoryCheckpointRepo(self)
        self.graph: GraphStore = MemoryGraphStore()  # not rolled back by transaction()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: an exception leaving the block restores the tables as they were at its start.
        Nested blocks join the outer one."""
        if self._in_transaction:
            yield
            return
        before = self.tables.snapshot()
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.tables = before
            raise
        finally:
            self._in_transaction = False

    def close(self) -> None:
        """Nothing to release; the data stays readable."""

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryEvidenceRepo:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def add_many(self, evidence: Sequence[Evidence], tallies: Sequence[PassTally] = ()) -> list[str]:
        t = self._s.tables
        new: list[str] = []
        for ev in evidence:
            if ev.evidence_id in t.evidence:
                continue
            row = t.evidence[ev.evidence_id] = docs.evidence_row(ev)
            new.append(ev.evidence_id)
            for sig in row.signatures:
                t.reasons[sig, row.evidence_id] = row
        for key, n in docs.tally_totals(tuple(tallies)).items():
            t.tallies[key] = t.tallies.get(key, 0) + n
        return new

    def get(self, evidence_id: str) -> Evidence | None:
        row = self._s.tables.evidence.get(evidence_id)
        return None if row is None else docs.decode_evidence_doc(row.doc)

    def by_source(self, topic: str | None, partition: int | None, offset: int, *, limit: int = 100) -> list[Evidence]:
        return _oldest_first((r for r in self._s.tables.evidence.values()
                              if r.source_offset == offset and r.source_topic == topic
                              and (partition is None or r.source_partition == partition)), limit)

    def by_dataset(self, dataset_urn: str, start_ms: int, end_ms: int, *, result: str | None = None,
                   limit: int = 1000) -> list[Evidence]:
        return _oldest_first((r for r in self._s.tables.evidence.values()
                              if r.dataset_urn == dataset_urn and start_ms <= r.event_ms < end_ms
                              and (result is None or r.result == result)), limit)

    def by_signature(self, signature: str, *, dataset_urn: str | None = None, limit: int = 1000) -> list[Evidence]:
        return _oldest_first(self._with_signature(signature, dataset_urn), limit)

    def signature_stats(self, signature: str, dataset_urn: str | None = None) -> list[ports.SignatureStats]:
        per_ds: dict[str, list[EvidenceRow]] = {}
        for r in self._with_signature(signature, dataset_urn):
            per_ds.setdefault(r.dataset_urn, []).append(r)
        stats = []
        for ds in sorted(per_ds):
            rows = per_ds[ds]
            first = min(rows, key=lambda r: (r.event_ms, r.evidence_id))
            stats.append(ports.SignatureStats(signature, ds, len(rows), first.event_ms, max(r.event_ms for r in rows),
                                        first.evidence_id))
        return stats

    def signature_last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        return max((r.event_ms for r in self._with_signature(signature, dataset_urn) if r.event_ms < before_ms),
                   default=None)

    def signature_times(self, signature: str, dataset_urn: str, start_ms: int, end_ms: int, *,
                        limit: int = 20000) -> list[tuple[int, str]]:
        return sorted((r.event_ms, r.evidence_id) for r in self._with_signature(signature, dataset_urn)
                      if start_ms <= r.event_ms < end_ms)[:limit]

    def minute_counts(self, dataset_urn: str, start_ms: int, end_ms: int) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in self._s.tables.evidence.values():
            m = r.event_ms - r.event_ms % MINUTE_MS
            if r.dataset_urn == dataset_urn and start_ms <= m < end_ms:
                out[m] = out.get(m, 0) + 1
        for k, n in self._s.tables.tallies.items():
            m = docs.to_ms(k[1])
            if k[0] == dataset_urn and start_ms <= m < end_ms:
                out[m] = out.get(m, 0) + n
        return out

    def by_run(self, run_id: str, *, limit: int = 10000) -> list[Evidence]:
        return _oldest_first((r for r in self._s.tables.evidence.values() if r.run_id == run_id), limit)

    def purge_older_than(self, cutoff_ms: int) -> int:
        t = self._s.tables
        old = [i for i, r in t.evidence.items() if r.event_ms < cutoff_ms]
        for i in old:
            for sig in t.evidence.pop(i).signatures:
                del t.reasons[sig, i]
        old_tallies = [k for k in t.tallies if docs.to_ms(k[1]) < cutoff_ms]
        for k in old_tallies:
            del t.tallies[k]
        return len(old) + len(old_tallies)

    def tallies(self, dataset_urn: str, start_ms: int, end_ms: int) -> list[PassTally]:
        """As `SqlEvidenceRepo.tallies`."""
        keys = [(docs.to_ms(k[1]), k) for k in self._s.tables.tallies if k[0] == dataset_urn]
        return [docs.tally_from_key(k, self._s.tables.tallies[k])
                for ms, k in sorted(keys, key=lambda mk: (mk[0], mk[1][2], mk[1][3])) if start_ms <= ms < end_ms]

    def browse(self, where: ports.EvidenceFilter, *, after: ports.BrowseCursor | None = None,
               newest_first: bool = True, limit: int = 50) -> list[Evidence]:
        rows = sorted(self._matching(where), key=lambda r: (r.event_ms, r.evidence_id), reverse=newest_first)
        if after is not None:
            rows = [r for r in rows if ((r.event_ms, r.evidence_id) < after) == newest_first
                    and (r.event_ms, r.evidence_id) != after]
        return [docs.decode_evidence_doc(r.doc) for r in rows[:limit]]

    def count(self, where: ports.EvidenceFilter) -> int:
        return sum(1 for _ in self._matching(where))

    def _matching(self, w: ports.EvidenceFilter) -> Iterator[EvidenceRow]:
        for r in self._s.tables.evidence.values():
            if ((w.dataset_urn is None or r.dataset_urn == w.dataset_urn) and (w.result is None or r.result == w.result)
                    and (w.start_ms is None or r.event_ms >= w.start_ms) and (w.end_ms is None or r.event_ms < w.end_ms)
                    and (w.signature is None or w.signature in r.signatures)):
                if w.producer is not None:
                    producer = docs.decode_evidence_doc(r.doc).producer
                    if producer is None or producer.id != w.producer:
                        continue
                yield r

    def _with_signature(self, signature: str, dataset_urn: str | None) -> Iterator[EvidenceRow]:
        for (sig, _), row in self._s.tables.reasons.items():
            if sig == signature and (dataset_urn is None or row.dataset_urn == dataset_urn):
                yield row


def _oldest_first(rows: Iterator[EvidenceRow], limit: int) -> list[Evidence]:
    ordered = sorted(rows, key=lambda r: (r.event_ms, r.evidence_id))[:limit]
    return [docs.decode_evidence_doc(r.doc) for r in ordered]


class MemorySignalRepo:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def add(self, signal: Signal) -> bool:
        rows = self._s.tables.signals
        if signal.signal_id in rows:
            return False
        rows[signal.signal_id] = _SignalRow(signal.signal_type, signal.dataset_urn, docs.to_ms(signal.timestamp),
                                            signal.revision, docs.encode_doc(signal))
        return True

    def get(self, signal_id: str) -> Signal | None:
        row = self._s.tables.signals.get(signal_id)
        return None if row is None else docs.decode_signal_doc(row.doc)

    def put_state(self, state: SignalState) -> None:
        self._s.tables.states[state.dataset_urn, state.state_key] = docs.encode_doc(state)

    def get_state(self, dataset_urn: str, state_key: str) -> SignalState | None:
        doc = self._s.tables.states.get((dataset_urn, state_key))
        return None if doc is None else docs.decode_state_doc(doc)

    def states(self, dataset_urn: str | None = None) -> list[SignalState]:
        return [docs.decode_state_doc(doc) for key, doc in sorted(self._s.tables.states.items())
                if dataset_urn is None or key[0] == dataset_urn]

    def list(self, *, dataset_urn: str | None = None, signal_type: str | None = None, since_ms: int | None = None,
             limit: int = 100) -> list[Signal]:
        hits = [(r.ts_ms, r.revision, i, r.doc) for i, r in self._s.tables.signals.items()
                if (dataset_urn is None or r.dataset_urn == dataset_urn)
                and (signal_type is None or r.signal_type == signal_type)
                and (since_ms is None or r.ts_ms >= since_ms)]
        return [docs.decode_signal_doc(h[3]) for h in sorted(hits, reverse=True)[:limit]]


class MemoryIncidentRepo:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def next_id(self) -> str:
        counters = self._s.tables.counters
        counters[docs.INCIDENT_COUNTER] = counters.get(docs.INCIDENT_COUNTER, 0) + 1
        return docs.incident_id(counters[docs.INCIDENT_COUNTER])

    def get(self, incident_id: str) -> Incident | None:
        row = self._s.tables.incidents.get(incident_id)
        return None if row is None else docs.decode_incident_doc(row.doc)

    def find_open(self, dataset_urn: str, failure_signature: str) -> Incident | None:
        hits = self._newest_first(lambda r: r.dataset_urn == dataset_urn and r.failure_signature == failure_signature
                                  and r.status in docs.OPEN_STATUSES)
        return hits[0] if hits else None

    def put(self, incident: Incident) -> None:
        self._s.tables.incidents[incident.incident_id] = _IncidentRow(
            incident.status, incident.dataset_urn, incident.failure_signature, docs.to_ms(incident.created_at),
            docs.encode_doc(incident))

    def _newest_first(self, keep: Callable[[_IncidentRow], bool]) -> list[Incident]:
        rows = [(r.created_ms, i, r.doc) for i, r in self._s.tables.incidents.items() if keep(r)]
        return [docs.decode_incident_doc(doc) for _, _, doc in sorted(rows, reverse=True)]

    def list(self, *, status: str | None = None, dataset_urn: str | None = None, limit: int = 100) -> list[Incident]:
        return self._newest_first(lambda r: (status is None or r.status == status)
                                  and (dataset_urn is None or r.dataset_urn == dataset_urn))[:limit]


class MemoryOutboxRepo:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def enqueue(self, notification: Notification) -> None:
        n = notification
        self._s.tables.outbox.setdefault(n.notification_id, _OutboxRow(
            docs.encode_doc(n), n.status, n.attempts, n.next_attempt_at, n.last_error))

    def due(self, now_s: float, limit: int = 100) -> list[Notification]:
        rows = [r for r in self._s.tables.outbox.values() if r.status == "PENDING" and r.next_attempt_at <= now_s]
        return [docs.decode_notification_doc(*r) for r in sorted(rows, key=lambda r: r.next_attempt_at)[:limit]]

    def mark_sent(self, notification_id: str, attempts: int) -> None:
        self._update(notification_id, status="SENT", attempts=attempts)

    def mark_failed(self, notification_id: str, attempts: int, next_attempt_at: float, error: str,
                    dead: bool = False) -> None:
        self._update(notification_id, status="DEAD" if dead else "PENDING", attempts=attempts,
                     next_attempt_at=next_attempt_at, last_error=error)

    def mark_muted(self, notification_id: str, why: str) -> None:
        self._update(notification_id, status="MUTED", last_error=why)

    def list(self, *, status: str | None = None, limit: int = 100) -> list[Notification]:
        rows = [r for r in self._s.tables.outbox.values() if status is None or r.status == status]
        return [docs.decode_notification_doc(*r) for r in rows[:limit]]

    def _update(self, notification_id: str, **values: Any) -> None:
        rows = self._s.tables.outbox
        if notification_id in rows:
            rows[notification_id] = rows[notification_id]._replace(**values)


class MemoryCheckpointRepo:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def get(self, source_key: str) -> int | None:
        return self._s.tables.checkpoints.get(source_key)

    def put(self, source_key: str, position: int) -> None:
        self._s.tables.checkpoints[source_key] = position

    def load_state(self, name: str) -> bytes | None:
        return self._s.tables.blobs.get(name)

    def save_state(self, name: str, blob: bytes) -> None:
        self._s.tables.blobs[name] = bytes(blob)

    def states_named(self, prefix: str) -> list[tuple[str, bytes]]:
        return sorted((k, v) for k, v in self._s.tables.blobs.items() if k.startswith(prefix))
