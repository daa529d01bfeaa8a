"""Batch-run evidence held per run until the run reports; then it joins the run's DQ_BREACH (batch.py).

Evidence that names its batch run (signals/routing.py) is counted here, per run id: PASS/WARN/FAIL
evidence, each reason code with its count and first time, the first non-PASS evidence ids (at most
`evidence_refs` of the signal) and which signatures the drift engine found new in it. When the run's
totals arrive (OpenLineage COMPLETE, `SignalEngineHost.add_batch_run`) the entry is taken and feeds
that run's DQ_BREACH (evidence refs, first-seen times, `is_new`, and the counts themselves when the
run reported no observability facet). A run that never reports is not forgotten silently: once the
freshness clock is `batch_run_timeout_ms` past its last evidence, or when more than
`batch_pending_runs` runs are waiting (oldest first), its entry is released and reported on its own
(an evidence-only DQ_BREACH). Runs already reported are remembered (the last `batch_pending_runs` ids),
so evidence arriving after its run reported is not reported twice.
"""

from __future__ import annotations

import msgspec

from signal_factory.model.evidence import FAIL, PASS, Evidence
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.model import BatchRunTotals

MAX_REFS = 10


class SigSeen(msgspec.Struct):
    count: int
    first_seen: str


class RunEvidence(msgspec.Struct):
    dataset_urn: str
    job: str
    first: str
    last: str
    passed: int = 0
    warned: int = 0
    failed: int = 0
    failures: dict[str, SigSeen] = msgspec.field(default_factory=dict)  # FAIL evidence per reason code
    warnings: dict[str, SigSeen] = msgspec.field(default_factory=dict)  # WARN evidence per reason code
    refs: list[str] = msgspec.field(default_factory=list)
    new: list[str] = msgspec.field(default_factory=list)
    dag_run_id: str | None = None

    @property
    def count(self) -> int:
        return self.passed + self.warned + self.failed


class RunsState(msgspec.Struct):
    pending: dict[str, RunEvidence] = msgspec.field(default_factory=dict)  # run id -> evidence, oldest first
    reported: list[str] = msgspec.field(default_factory=list)


def add(state: RunsState, run_id: str, t: str, ev: Evidence) -> RunEvidence | None:
    """Count one evidence of `run_id` at canonical time `t` (None: its run already reported)."""
    acc = state.pending.get(run_id)
    if acc is None:
        if run_id in state.reported:
            return None
        producer = ev.producer.id if ev.producer is not None else ""
        acc = state.pending[run_id] = RunEvidence(ev.dataset_urn, producer, t, t, dag_run_id=(
            ev.lineage.dag_run_id if ev.lineage is not None else None))
    acc.first, acc.last = min(acc.first, t), max(acc.last, t)
    result = ev.validation.result
    if result == PASS:
        acc.passed += 1
        return acc
    if result == FAIL:
        acc.failed += 1
        table = acc.failures
    else:
        acc.warned += 1
        table = acc.warnings
    for code in ev.validation.reason_codes or ("UNSPECIFIED",):
        seen = table.get(code)
        if seen is None:
            table[code] = SigSeen(1, t)
        else:
            seen.count += 1
            seen.first_seen = min(seen.first_seen, t)
    if len(acc.refs) < MAX_REFS:
        acc.refs.append(ev.evidence_id)
    return acc


def take(state: RunsState, run_id: str, keep: int) -> RunEvidence | None:
    """The run's waiting evidence, removed (None if there is none); the run is marked reported."""
    found = state.pending.pop(run_id, None)
    _reported(state, run_id, keep)
    return found


def release(state: RunsState, now_ms: int | None, timeout_ms: int, keep: int) -> list[tuple[str, RunEvidence]]:
    """Runs to report on their own: overflow beyond `keep` waiting runs, then those idle past the timeout."""
    out: list[tuple[str, RunEvidence]] = []
    while len(state.pending) > keep:
        rid = next(iter(state.pending))
        out.append((rid, state.pending.pop(rid)))
    if now_ms is not None:
        for rid in [r for r, acc in state.pending.items() if (ms := parse_iso_ms(acc.last)) is not None
                    and ms + timeout_ms <= now_ms]:
            out.append((rid, state.pending.pop(rid)))
    for rid, _ in out:
        _reported(state, rid, keep)
    return out


def totals_of(run_id: str, acc: RunEvidence) -> BatchRunTotals:
    """What a run that never reported is known to have done, from its evidence alone."""
    context = {"run_id": run_id, **({"dag_run_id": acc.dag_run_id} if acc.dag_run_id else {})}
    return BatchRunTotals(dataset_urn=acc.dataset_urn, run_id=run_id, job_name=acc.job.removeprefix("spark:"),
                          started_at=acc.first, ended_at=acc.last, batch_context=context)


def _reported(state: RunsState, run_id: str, keep: int) -> None:
    if run_id not in state.reported:
        state.reported.append(run_id)
        del state.reported[:-keep]

