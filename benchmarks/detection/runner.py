"""Drive one scenario through the real pipeline, in process, and collect what an on-call engineer would see.

The path is `signal-factory replay --no-send`'s: the generated control plane loaded by the real loader,
records enforced, stored in SQLite (a fresh file), fed to the signal engines and the alerting engine;
no notification is delivered (the outbox keeps them). Late scenarios are fed in arrival order through
`ReplayService.ingest` (as the Kafka path does) instead of replay's event-time sort; the batch scenario
then posts the Spark job's evidence and its OpenLineage events as the HTTP API would. Every incident that
ever reached SEV-1 or SEV-2 is a page; its RCA is run as `signal-factory rca` runs it.

Nothing here knows the labels: the runner reports, the scorer judges.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.detection.labels import Scenario
from signal_factory.alerting.engine import IncidentChange
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.deployments import load_markers
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.model import parse_run_event
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.model.evidence import decode_evidence
from signal_factory.rca.analyze import analyze
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.model import Signal
from signal_factory.sources.jsonlines import parse_line
from signal_factory.stores.sql import open_store

PAGING = ("SEV-1", "SEV-2")
BATCH_SIZE = 1000  # `signal-factory replay`'s default


@dataclass
class Rca:
    kind: str | None = None
    service: str | None = None
    version: str | None = None
    confidence: float | None = None
    blast_radius: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Page:
    """One page: an incident reaching SEV-2 or worse for the first time, or escalating to SEV-1 later
    (PagerDuty gets a new trigger; a phone rings). `at_ms` is the event time of the signal that did it."""

    incident_id: str
    dataset: str
    signal_type: str
    signature: str
    title: str
    at_ms: int
    severity: str
    escalation: bool = False


@dataclass
class IncidentView:
    """A paging incident as the on-call engineer sees it afterwards: severity history and the RCA."""

    incident_id: str
    dataset: str
    signature: str
    history: list[tuple[int, str, str]]  # (event ms, severity, change kind)
    rca: Rca


@dataclass
class Outcome:
    scenario: str
    records: int
    seconds: float
    incidents: int
    pages: list[Page]
    incident_views: dict[str, IncidentView]
    notifications: dict[str, int]


class _Recorder:
    """The alerting engine, with every incident change it makes noted at its signal's event time."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.history: dict[str, list[tuple[int, str, str]]] = {}
        self.last: dict[str, IncidentChange] = {}

    def on_signal(self, signal: Signal) -> list[IncidentChange]:
        changes: list[IncidentChange] = self.inner.on_signal(signal)
        at = to_ms(signal.timestamp)
        for change in changes:
            self.history.setdefault(change.incident.incident_id, []).append((at, change.incident.severity, change.kind))
            self.last[change.incident.incident_id] = change
        return changes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def to_ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def write_inputs(sc: Scenario, root: Path) -> tuple[Path, Path, Path]:
    """The scenario as files `signal-factory replay` reads: control plane dir, traffic, deployment markers."""
    cp_dir = sc.world.write(root / "control-plane")
    traffic = root / "traffic.jsonl"
    traffic.write_bytes(b"".join(r.line + b"\n" for r in sc.records))
    deployments = root / "deployments.jsonl"
    deployments.write_text("".join(json.dumps(m) + "\n" for m in sc.markers))
    if sc.batch is not None:
        (root / "spark-evidence.jsonl").write_bytes(b"".join(e + b"\n" for e in sc.batch.evidence))
        (root / "openlineage.jsonl").write_bytes(b"".join(e + b"\n" for e in sc.batch.openlineage))
    return cp_dir, traffic, deployments


def run(sc: Scenario, root: Path) -> Outcome:
    """Run `sc` with its files and SQLite database under `root` (a directory that exists)."""
    cp_dir, traffic, deployments = write_inputs(sc, root)
    started = time.perf_counter()
    cp = load_control_plane(cp_dir)
    store = open_store(f"sqlite:///{root}/bench.db")
    try:
        service = ReplayService(cp, store, Enforcer(cp))  # no dispatcher: --no-send
        recorder = _Recorder(service.alerting)
        service.alerting = recorder  # type: ignore[assignment]
        if sc.arrival_order:
            _ingest_in_arrival_order(service, traffic, deployments)
        else:
            service.replay([traffic], batch_size=BATCH_SIZE, deployments=[deployments])
        if sc.batch is not None:
            service.ingest_evidence([decode_evidence(line) for line in sc.batch.evidence])
            lineage = LineageIngest(service, load_mapping(cp_dir))
            for number, raw in enumerate(sc.batch.openlineage, 1):
                lineage.ingest(parse_run_event(raw, f"openlineage.jsonl:{number}"))
        incidents = store.incidents.list(limit=100_000)
        pages: list[Page] = []
        views: dict[str, IncidentView] = {}
        for incident in incidents:
            history = recorder.history.get(incident.incident_id) or [
                (to_ms(incident.created_at), incident.severity, "created")]
            mine = _pages(history)
            if not mine:
                continue
            pages += [Page(incident.incident_id, incident.dataset_urn, incident.signal_type,
                           incident.failure_signature, incident.title, at, sev, esc) for at, sev, esc in mine]
            views[incident.incident_id] = IncidentView(
                incident.incident_id, incident.dataset_urn, incident.failure_signature, history,
                _rca(store, incident.incident_id, cp.datasets, sc.end_ms + sc.extra_ms))
        outbox = store.outbox.list(limit=1_000_000)
        notes = Counter(f"{n.channel}:{n.event}" for n in outbox)
        seconds = time.perf_counter() - started
        return Outcome(sc.name, len(sc.records), seconds, len(incidents), sorted(pages, key=lambda p: p.at_ms),
                       views, dict(sorted(notes.items())))
    finally:
        store.close()


def _pages(history: list[tuple[int, str, str]]) -> list[tuple[int, str, bool]]:
    """(event ms, severity, escalation) of each page in an incident's history: the first time it is SEV-2
    or worse, and the first time it is SEV-1 if that came later."""
    out: list[tuple[int, str, bool]] = []
    for at, severity, _kind in history:
        if severity in PAGING and not out:
            out.append((at, severity, False))
        elif severity == "SEV-1" and out and out[0][1] != "SEV-1":
            out.append((at, severity, True))
            break
    return out


def _ingest_in_arrival_order(service: ReplayService, traffic: Path, deployments: Path) -> None:
    """What the Kafka path does: records in the order they arrive, one transaction per batch, then flush."""
    with service.store.transaction():
        service.graph.write_control_plane()
        service.graph.write_deployments(load_markers(deployments))
    lines = [line for line in traffic.read_bytes().splitlines() if line.strip()]
    records = [parse_line(line, f"{traffic}:{n}") for n, line in enumerate(lines, 1)]
    for start in range(0, len(records), BATCH_SIZE):
        service.ingest(records[start:start + BATCH_SIZE])
    service.flush_windows()


def _rca(store: Any, incident_id: str, catalog: Any, now_ms: int) -> Rca:
    try:
        report = analyze(store, incident_id=incident_id, catalog=catalog, now=now_ms)
    except Exception as exc:  # an RCA that crashes is a wrong answer, reported, not a benchmark crash
        return Rca(error=f"{type(exc).__name__}: {exc}")
    rc = report.root_cause
    return Rca(kind=rc.kind, service=rc.service, version=rc.version, confidence=report.confidence.score,
               blast_radius=sorted({b.urn for b in report.blast_radius}))


def run_all(scenarios: Sequence[Scenario], root: Path) -> list[Outcome]:
    out = []
    for sc in scenarios:
        sub = root / sc.name
        sub.mkdir(parents=True, exist_ok=True)
        out.append(run(sc, sub))
    return out
