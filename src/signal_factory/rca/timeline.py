"""The report's timeline: deployments weighed, first failures, runs, signals, incidents, the analysis.

One time base: event time (when things happened in the data's world). Two rows are stamped by a wall clock
instead: the enforcer seeing the real-time evidence (its processing time) and the analysis itself. Live,
both sit within moments of the events and are shown as the seed's timeline does. When old data is replayed
or analysed later, they would land years after the events and mix two clocks in one column: a wall-clock
row more than `WALL_CLOCK_SLACK_MS` after the last event is left out (the report's `generated_at` still
says when the analysis ran).
"""

from __future__ import annotations

from collections.abc import Sequence

from signal_factory.graph.model import Node
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import Incident
from signal_factory.rca.causes import Candidate, Subject
from signal_factory.rca.drift import DriftFacts
from signal_factory.rca.lookups import as_str, iso, signature_parts, to_ms
from signal_factory.rca.report import TimelineEntry

ENFORCER = "policy-enforcer"
SIGNAL_ENGINE = "signal-engine"
ALERTING = "alerting"
RCA = "rca"
WALL_CLOCK_SLACK_MS = 24 * 3600 * 1000


def _who(ev: Evidence | None) -> str:
    if ev is None or ev.producer is None:
        return "unknown producer"
    p = ev.producer
    return f"{p.id} {p.version}" if p.version else p.id


def build(*, subject: Subject, chosen: Candidate, candidates: Sequence[Candidate], drift: DriftFacts | None,
          signals: Sequence[Node], incident: Incident | None, incidents: Sequence[Node],
          now_ms: int) -> list[TimelineEntry]:
    rows: list[tuple[int, int, str, str]] = []
    wall: list[tuple[int | None, str, str]] = []  # wall-clock stamped rows, added last if they fit (see above)

    def add(ms: int | None, actor: str, event: str) -> None:
        if ms is not None:
            rows.append((ms, len(rows), actor, event))

    for c in candidates:
        d = c.deployment
        if d is None:
            continue
        commit = f" (commit {d.commit})" if d.commit else ""
        how = " [inferred, no marker]" if d.inferred else ""
        verdict = ("" if c is chosen else f" - excluded: after the {subject.reference}" if c.excluded
                   else " - ruled out: another producer" if not c.eligible else " - weighed, lost")
        add(d.deployed_ms, d.service, f"Deployment {d.version}{commit}{how}{verdict}")
    if drift is not None and drift.service:
        warn = drift.warn
        src_ms = to_ms(warn.source.timestamp) if warn is not None and warn.source is not None else None
        _, _, value = signature_parts(subject.reason_code)
        add(src_ms or drift.warn_ms, drift.service, f"First emitted {value or subject.reason_code} "
            f"({subject.reason_code}) on {drift.realtime_dataset}")
        seen_ms = to_ms(warn.timestamp) if warn is not None else None
        wall.append((seen_ms if seen_ms is not None else drift.warn_ms, ENFORCER,
                     f"Real-time {warn.result if warn else 'WARN'} evidence {drift.warn_id or '?'} ({_who(warn)})"))
    if drift is not None:
        for r in drift.runs:
            dag = f" (DAG run {r.dag_run_id})" if r.dag_run_id else ""
            add(r.run.start_ms, r.run.job or "job", f"Run {r.run.run_id} started{dag}")
            if r.run.end_ms is not None:
                out = f"; {r.run.failed:,} records excluded from {', '.join(r.outputs)}" if r.run.failed else ""
                add(r.run.end_ms, r.run.job or "job", f"Run {r.run.run_id} completed{out}")
    first_actor = ENFORCER
    if subject.failing is not None and subject.failing.producer is not None and subject.failing.producer.run_id:
        first_actor = subject.failing.producer.id
    elif subject.failing is not None and subject.failing.stream is not None:  # a stream processor's own evidence
        first_actor = f"{subject.failing.stream.topology_id}/{subject.failing.stream.processor_node}"
    count = f"{subject.signature_count:,} records: " if drift is not None and drift.runs else ""
    add(subject.first_ms, first_actor, f"First failure: {count}{subject.reason_code} on {subject.dataset_urn}"
        + (f", evidence {subject.first_evidence_id}" if subject.first_evidence_id else ""))
    if subject.onset_ms is not None and subject.onset_note:
        add(subject.onset_ms, ENFORCER if subject.first_ms is not None else SIGNAL_ENGINE,
            f"{subject.reference[:1].upper()}{subject.reference[1:]}: {subject.onset_note}")
    for n in signals:
        p = n.props
        add(n.ts_ms or to_ms(p.get("timestamp")), SIGNAL_ENGINE,
            f"Signal {as_str(p.get('type')) or '?'} {as_str(p.get('state')) or '?'} ({n.key})")
    if incident is not None:
        add(to_ms(incident.created_at), ALERTING, f"Incident {incident.incident_id} opened ({incident.severity})")
    for n in incidents:
        if incident is None or n.key != incident.incident_id:
            add(n.ts_ms or to_ms(n.props.get("created_at")), ALERTING,
                f"Incident {n.key} opened ({as_str(n.props.get('severity')) or '?'})")
    wall.append((now_ms, RCA, "Root-cause analysis"))
    last_event = max((ms for ms, *_ in rows), default=None)
    for ms, actor, event in wall:
        if ms is not None and (last_event is None or ms <= last_event + WALL_CLOCK_SLACK_MS):
            add(ms, actor, event)
    rows.sort()
    return [TimelineEntry(time=iso(ms) or "", actor=actor, event=event) for ms, _, actor, event in rows]
