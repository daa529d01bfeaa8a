"""`ApiService`: the one object the HTTP routes call. Reads go straight to the store; writes run the same
pipeline as `signal-factory replay` (`ReplayService.ingest`), one at a time under a process-wide lock
(the signal engines' state is one snapshot)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from signal_factory import __version__
from signal_factory.alerting.engine import AlertingEngine, IncidentNotFoundError, IncidentTransitionError
from signal_factory.alerting.mutes import Mute, MuteBook, MuteError, covering, parse_duration_ms
from signal_factory.alerting.notices import list_notices, notice_json
from signal_factory.alerting.policy import AlertPolicy, load_alert_policy
from signal_factory.api import evidence_view, find_view, graph_views, health_view
from signal_factory.api.metrics import ApiMetrics
from signal_factory.api.problems import BadRequestError, ConflictError, NotFoundError, UpstreamUnavailableError
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import Dataset
from signal_factory.enforcer.eventtime import EventTimeGuard
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.inflows import foreign_evidence
from signal_factory.enforcer.pipeline import EnforceBatch, Enforcer
from signal_factory.graph.deployments import DeploymentFileError, parse_marker
from signal_factory.graph.writer import GraphWriter
from signal_factory.ingest.otlp import service as otlp
from signal_factory.ingest.otlp.join import span_view, trace_context
from signal_factory.ingest.otlp.repo import span_repo
from signal_factory.model.evidence import Evidence
from signal_factory.model.incidents import ACKNOWLEDGED, OPEN, Incident
from signal_factory.model.nesting import MAX_DEPTH, may_be_too_deep, too_deep
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.payloads.files import PayloadMissingError
from signal_factory.payloads.location import evidence_payload
from signal_factory.rca.analyze import RcaLookupError, analyze
from signal_factory.rca.report import to_json
from signal_factory.runtime.reload import ConfigReloader
from signal_factory.runtime.replay import ReplayReport, ReplayService
from signal_factory.settings import Settings
from signal_factory.signals.model import CRITICAL, OK, UNKNOWN, WARNING, Signal, SignalState
from signal_factory.sources.jsonlines import parse_line
from signal_factory.sources.lines import split_lines
from signal_factory.stores.ports import EvidenceFilter, Store
from signal_factory.stores.sql.database import open_store

W = TypeVar("W")
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}
_LIST_IDS = "GET /api/v1/incidents lists the incident ids"
_FAR_FUTURE_MS = 2**62
_TOO_DEEP_DOC = b'{"value":' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"


def worst_state(states: list[SignalState]) -> str:
    """Worst of OK < UNKNOWN < WARNING < CRITICAL; UNKNOWN when there are none."""
    return max((s.state for s in states), key=lambda s: _RANK.get(s, 1), default=UNKNOWN)


def parse_time(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    ms = parse_iso_ms(value)
    if ms is None:
        raise BadRequestError(f"query parameter `{name}`: {value!r} is not an ISO-8601 time "
                              "(e.g. 2024-01-15T09:55:00Z)")
    return ms


def body_items(body: bytes, what: str) -> Iterator[tuple[str, bytes]]:
    """(where, one JSON document) for a body that is a JSON array, or JSON lines (one object per line,
    split by the one rule of `sources.lines`, so a line here is a line in `enforce` and `replay`)."""
    text = body.strip()
    if not text:
        raise BadRequestError(f"the body is empty: send {what} as JSON lines or as a JSON array")
    if text.startswith(b"["):
        try:
            items = msgspec.json.decode(text)
        except msgspec.DecodeError as e:
            raise BadRequestError(f"the body starts with `[` but is not a JSON array: {e}") from e
        except RecursionError:
            raise BadRequestError("the body is a JSON array nested too deep to read; "
                                  "send the records as JSON lines (one evidence per line)") from None
        deep = may_be_too_deep(text)
        for i, item in enumerate(items):
            # An item too deep to re-encode safely stands in as one that `parse_line` calls too deep.
            yield f"item {i}", _TOO_DEEP_DOC if deep and too_deep(item) else msgspec.json.encode(item)
        return
    for number, line in split_lines(body):
        yield f"line {number}", line


def _results(wheres: list[str], batch: EnforceBatch | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    evidence = iter(batch.evidence if batch is not None else ())
    sampled = set(batch.sampled if batch is not None else ())
    for i, where in enumerate(wheres):
        if i in sampled:
            out.append({"where": where, "result": "PASS", "sampled": True})
            continue
        ev = next(evidence, None)
        if ev is not None:
            out.append({"where": where, "evidence_id": ev.evidence_id, "result": ev.validation.result,
                        "reason_codes": ev.validation.reason_codes})
    return out


@dataclass(frozen=True)
class ServeConfig:
    """What the API builds from one control plane (swapped whole on reload, see runtime/reload.py)."""

    enforcer: Enforcer
    policy: AlertPolicy


def serve_config_builder(settings: Settings | None = None) -> Callable[[ControlPlane], ServeConfig]:
    """`cp -> ServeConfig`: the enforcer of `build_enforcer` and the alert policy of alerting.yaml."""
    return lambda cp: ServeConfig(build_enforcer(cp, settings), load_alert_policy(cp))


class ApiService:
    """Reads and writes over one store. The control plane comes from `reloader` (reloaded on change): a
    request takes the current snapshot once and finishes on it."""

    def __init__(self, cp: ControlPlane, store: Store, *, enforcer: Enforcer | None = None,
                 policy: AlertPolicy | None = None, settings: Settings | None = None,
                 reloader: ConfigReloader[ServeConfig] | None = None) -> None:
        self.store = store
        self.settings = settings or Settings.from_env()
        self.reloader = reloader or ConfigReloader(
            cp.root, serve_config_builder(self.settings),
            initial=(cp, ServeConfig(enforcer or build_enforcer(cp, self.settings), policy or load_alert_policy(cp))))
        self.writes = 0  # bumped by every write, so the change feed sees this process's writes at once
        self.metrics: ApiMetrics | None = None  # set by create_app: ingest counts for GET /metrics
        self._lock = threading.Lock()
        self._s3: Any = None  # the S3 object ingester, made on the first notification (boto3 is optional)
        self._s3_generation = -1  # the config generation it was made from
        self._graph_generation = self.reloader.current.generation  # whose lineage the graph holds

    @property
    def cp(self) -> ControlPlane:
        return self.reloader.current.cp

    @property
    def enforcer(self) -> Enforcer:
        return self.reloader.current.value.enforcer

    @enforcer.setter
    def enforcer(self, enforcer: Enforcer) -> None:
        """Ingest with `enforcer` (e.g. one with a fixed clock) until the next reload builds a new one."""
        self.reloader.use(dataclasses.replace(self.reloader.current.value, enforcer=enforcer))

    @property
    def policy(self) -> AlertPolicy:
        return self.reloader.current.value.policy

    @classmethod
    def open(cls, config_dir: Path, db_url: str | None, *, home: Path) -> ApiService:
        """Load the control plane, open (and migrate) the store, and write the lineage into the graph."""
        settings = dataclasses.replace(Settings.from_env(), home=home)
        reloader = ConfigReloader(config_dir, serve_config_builder(settings))
        cp = reloader.current.cp
        store = open_store(db_url, home=home)
        try:
            service = cls(cp, store, settings=settings, reloader=reloader)
            with store.transaction():
                GraphWriter(store.graph, cp).write_control_plane()
        except BaseException:
            store.close()
            raise
        return service

    def close(self) -> None:
        self.reloader.close()
        self.store.close()

    # --- reads ------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Liveness, version, and the running control plane: its generation and reloads by result."""
        r = self.reloader
        live = r.current
        loaded = datetime.fromtimestamp(live.loaded_at, UTC).isoformat(timespec="milliseconds")
        return {"status": "ok", "version": __version__,
                "config": {"generation": live.generation, "loaded_at": loaded.replace("+00:00", "Z"),
                           "reloads": {"ok": r.counts["ok"], "rejected": r.counts["rejected"]},
                           "last_error": r.last_error}}

    def datasets(self) -> list[dict[str, Any]]:
        states: dict[str, list[SignalState]] = {}
        for s in self.store.signals.states():
            states.setdefault(s.dataset_urn, []).append(s)
        open_counts = self._open_counts()
        views = [self._dataset_view(ds, states.get(urn, []), open_counts[urn]) for urn, ds in self.cp.datasets.items()]
        risk = health_view.at_risk(self.store.graph, views)
        for view in views:
            view["at_risk"] = risk.get(view["urn"])
        return views

    def dataset(self, urn: str) -> dict[str, Any]:
        ds = self.cp.datasets.get(urn)
        if ds is None:
            raise NotFoundError(f"no dataset {urn!r}; known: {', '.join(sorted(self.cp.datasets))}")
        view = self._dataset_view(ds, self.store.signals.states(urn), self._open_counts(urn)[urn])
        view["at_risk"] = next((v["at_risk"] for v in self.datasets() if v["urn"] == urn), None)
        return view

    def _open_counts(self, urn: str | None = None) -> Counter[str]:
        found = [i for status in (OPEN, ACKNOWLEDGED)
                 for i in self.store.incidents.list(status=status, dataset_urn=urn, limit=100_000)]
        return Counter(i.dataset_urn for i in found)

    @staticmethod
    def _dataset_view(ds: Dataset, states: list[SignalState], open_incidents: int) -> dict[str, Any]:
        return {"urn": ds.urn, "name": ds.name, "tier": ds.tier, "type": ds.type, "owner": ds.owner,
                "classification": ds.classification, "consumers": list(ds.consumers),
                "feeds": [{"to": f.to, "type": f.type} for f in ds.feeds],
                "states": {s.signal_type: {**msgspec.to_builtins(s),
                                           "measure": health_view.measure(s.score_metric, s.score, s.signal_type)}
                           for s in states},
                "worst_state": worst_state(states), "open_incidents": open_incidents}

    def signals(self, *, dataset: str | None, signal_type: str | None, since: str | None, limit: int) -> list[Signal]:
        return self.store.signals.list(dataset_urn=dataset, signal_type=signal_type,
                                       since_ms=parse_time(since, "since"), limit=limit)

    def incidents(self, *, status: str | None, dataset: str | None, limit: int) -> list[Incident]:
        return self.store.incidents.list(status=status.upper() if status else None, dataset_urn=dataset, limit=limit)

    def notices(self, *, dataset: str | None, since: str | None, limit: int) -> list[dict[str, Any]]:
        """Drift notices (first-seen failure signatures that paged no one), newest window first."""
        found = list_notices(self.store.checkpoints, dataset_urn=dataset, since_ms=parse_time(since, "since"),
                             limit=limit)
        return [notice_json(n) for n in found]

    def incident_view(self, incident_id: str) -> dict[str, Any]:
        """The incident, plus `muted_by`: the active mute that keeps its pages from going out, if any."""
        now = _now_ms()
        return _muted_view(self.incident(incident_id), MuteBook(self.store.checkpoints).active(now), now)

    def incidents_view(self, *, status: str | None, dataset: str | None, limit: int) -> list[dict[str, Any]]:
        now = _now_ms()
        active = MuteBook(self.store.checkpoints).active(now)
        return [_muted_view(i, active, now) for i in self.incidents(status=status, dataset=dataset, limit=limit)]

    def mutes(self, *, active_only: bool) -> list[Mute]:
        book = MuteBook(self.store.checkpoints)
        return book.active(_now_ms()) if active_only else book.all()

    def add_mute(self, kind: str, target: str, duration: str, reason: str, by: str) -> Mute:
        with self._lock:
            try:
                with self.store.transaction():
                    now = _now_ms()
                    until = now + parse_duration_ms(duration)
                    mute = MuteBook(self.store.checkpoints).add(kind, target, until_ms=until, reason=reason, by=by,
                                                                now_ms=now)
            except MuteError as e:
                raise BadRequestError(str(e)) from e
            self.writes += 1
        return mute

    def cancel_mute(self, mute_id: str, by: str) -> Mute:
        with self._lock:
            try:
                with self.store.transaction():
                    mute = MuteBook(self.store.checkpoints).cancel(mute_id, by=by, now_ms=_now_ms())
            except MuteError as e:
                raise NotFoundError(str(e)) from e
            self.writes += 1
        return mute

    def incident(self, incident_id: str) -> Incident:
        incident = self.store.incidents.get(incident_id)
        if incident is None:
            raise NotFoundError(f"no incident {incident_id!r}; {_LIST_IDS}")
        return incident

    def evidence_one(self, evidence_id: str) -> dict[str, Any]:
        """The evidence, plus `producing_span` and `error_spans` when OTLP spans join it (docs/otel.md)."""
        ev = self.store.evidence.get(evidence_id)
        if ev is None:
            raise NotFoundError(f"no evidence {evidence_id!r}; GET /api/v1/evidence?dataset=<urn> lists evidence, "
                                "and signals and incidents name evidence ids")
        view: dict[str, Any] = msgspec.to_builtins(ev)
        view.update(trace_context(span_repo(self.store), ev))
        return view

    def evidence_payload(self, evidence_id: str) -> bytes:
        """The payload kept with an evidence, as stored (redacted): inline, or read back by its `payload_ref`."""
        ev = self.store.evidence.get(evidence_id)
        if ev is None:
            raise NotFoundError(f"no evidence {evidence_id!r}; GET /api/v1/evidence?dataset=<urn> lists evidence")
        try:
            return evidence_payload(ev, self.settings)
        except PayloadMissingError as e:
            raise NotFoundError(str(e)) from e

    def trace_spans(self, trace_id: str, *, limit: int) -> list[dict[str, Any]]:
        return [span_view(r) for r in span_repo(self.store).by_trace(trace_id, limit=limit)]

    def evidence(self, *, dataset: str | None, signature: str | None, run: str | None, since: str | None,
                 until: str | None, result: str | None, limit: int) -> list[Evidence]:
        if run is not None:
            if dataset is not None or signature is not None:
                raise BadRequestError("give `run` alone, or `dataset`, or `signature` (optionally with `dataset`)")
            return self.store.evidence.by_run(run, limit=limit)
        if signature is not None:
            return self.store.evidence.by_signature(signature, dataset_urn=dataset, limit=limit)
        if dataset is None:
            raise BadRequestError("say which evidence: `?dataset=<urn>` (with since/until/result), "
                                  "`?signature=<reason code>` or `?run=<run id>`")
        start = parse_time(since, "since") or 0
        end = parse_time(until, "until") or _FAR_FUTURE_MS
        return self.store.evidence.by_dataset(dataset, start, end, result=result.upper() if result else None,
                                              limit=limit)

    def evidence_page(self, *, dataset: str | None, signature: str | None, producer: str | None,
                      result: str | None, since: str | None, until: str | None, cursor: str | None,
                      order: str, limit: int) -> dict[str, Any]:
        """The evidence browser: every filter optional, paged by `cursor`, with the total count."""
        if order not in ("newest", "oldest"):
            raise BadRequestError(f"query parameter `order`: {order!r} is not `newest` or `oldest`")
        where = EvidenceFilter(dataset_urn=dataset, result=evidence_view.check_result(result), signature=signature,
                               producer=producer, start_ms=parse_time(since, "since"),
                               end_ms=parse_time(until, "until"))
        return evidence_view.page(self.store.evidence, where, cursor=cursor, newest_first=order == "newest",
                                  limit=limit)

    def find(self, text: str, *, limit: int) -> dict[str, Any]:
        """Top-bar search: datasets, failure signatures, incidents and deployments matching `text`."""
        return find_view.find(self.cp, self.store, text, limit=limit)

    def rca(self, *, incident_id: str | None = None, signature: str | None = None,
            dataset: str | None = None) -> bytes:
        try:
            report = analyze(self.store, incident_id=incident_id, signature=signature, dataset=dataset,
                             catalog=self.cp.datasets)
        except RcaLookupError as e:
            raise NotFoundError(str(e).replace("`signal-factory incidents list` shows the ids", _LIST_IDS)) from e
        return to_json(report)

    def graph_node(self, node_id: str, depth: int) -> dict[str, Any]:
        if self.store.graph.node(node_id) is None:
            raise NotFoundError(f"no graph node {node_id!r}; ids are <Kind>:<key>, e.g. "
                                "Dataset:urn:dp:orders:created (GET /api/v1/graph/lineage lists datasets)")
        return graph_views.neighbourhood(self.store.graph, node_id, depth)

    def lineage(self) -> dict[str, Any]:
        return graph_views.lineage(self.store.graph)

    def incident_graph(self, incident_id: str) -> dict[str, Any]:
        incident = self.incident(incident_id)
        return graph_views.incident_chain(self.store.graph, incident_id, incident.dataset_urn)

    def change_marker(self) -> tuple[object, ...]:
        """Cheap to read, and different whenever the store changed (here or in another process)."""
        newest = self.store.signals.list(limit=1)
        recent = self.store.incidents.list(limit=20)
        return (self.writes, self.store.graph.counts(), newest[0].signal_id if newest else None,
                max((i.updated_at for i in recent), default=None), len(recent))

    # --- writes -----------------------------------------------------------------------------------------

    def acknowledge(self, incident_id: str, by: str) -> Incident:
        return self._transition(incident_id, lambda eng, at: eng.acknowledge(incident_id, by, at=at))

    def resolve(self, incident_id: str, by: str, note: str | None) -> Incident:
        return self._transition(incident_id, lambda eng, at: eng.resolve(incident_id, by, note, at=at))

    def _transition(self, incident_id: str, move: Any) -> Incident:
        engine = AlertingEngine(self.cp, self.policy, self.store.incidents, self.store.outbox)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            try:
                with self.store.transaction():
                    incident: Incident = move(engine, now)
            except IncidentNotFoundError as e:
                raise NotFoundError(f"no incident {incident_id!r}; {_LIST_IDS}") from e
            except IncidentTransitionError as e:
                raise ConflictError(str(e)) from e
            self.writes += 1
        return incident

    def ingest_records(self, body: bytes) -> dict[str, Any]:
        """Every record of the body -> one entry of `results`, in body order: its evidence id, verdict
        and reason codes (or `sampled: true` for a PASS record counted but not kept)."""
        where_docs = list(body_items(body, "records"))
        records: list[RawRecord | MalformedInput] = [parse_line(doc, f"request {where}") for where, doc in where_docs]
        batches: list[EnforceBatch] = []
        answer = self._ingest(lambda replay: replay.ingest(records, on_batch=batches.append), "records")
        answer["results"] = _results([w for w, _ in where_docs], batches[-1] if batches else None)
        return answer

    def ingest_evidence(self, body: bytes) -> dict[str, Any]:
        evidence: list[Evidence] = []
        received = iso_ms(int(time.time() * 1000))  # its maker's clock is not ours
        skew = EventTimeGuard(self.reloader.current.cp.settings.event_time)
        for where, doc in body_items(body, "evidence"):
            try:
                evidence.append(foreign_evidence(doc, skew, received))
            except msgspec.DecodeError as e:
                raise BadRequestError(f"{where} is not evidence (urn:schema:evidence:2): {e}") from e
        return self._ingest(lambda replay: replay.ingest_evidence(evidence), "evidence")

    def as_writer(self, run: Callable[[ReplayService, ControlPlane], W]) -> W:
        """`run(replay, cp)` as the one writer (the engines' snapshot is shared by every write), on one config
        snapshot whatever a reload does meanwhile; the graph's lineage is rewritten first after a reload."""
        with self._lock:
            live = self.reloader.current
            if live.generation != self._graph_generation:  # a reload may have added datasets or FEEDS edges
                with self.store.transaction():
                    GraphWriter(self.store.graph, live.cp).write_control_plane()
                self._graph_generation = live.generation
            result = run(ReplayService(live.cp, self.store, live.value.enforcer, policy=live.value.policy), live.cp)
            self.writes += 1
        return result

    def _ingest(self, run: Any, kind: str) -> dict[str, Any]:
        report: ReplayReport = self.as_writer(lambda replay, _cp: run(replay))
        if self.metrics is not None:
            self.metrics.ingested(kind, report.records, report.new_evidence)
        incidents = list(dict.fromkeys(c.incident.incident_id for c in report.changes))
        return {"records": report.records, "evidence": report.new_evidence,
                "signals": [s.signal_id for s in report.signals], "incidents": incidents}

    def ingest_s3_notification(self, body: bytes) -> dict[str, Any]:
        """An S3 event notification (direct, SNS envelope, SQS message) or an EventBridge "Object Created"
        event: each announced object's rows -> evidence (one per row) -> signals -> incidents; `results`
        has one entry per evidence. A redelivered notification stores nothing new (ids by bucket/key/etag/row)."""
        from signal_factory.aws import aws_client  # noqa: PLC0415
        from signal_factory.ingest.s3 import S3ObjectIngester, S3TransportError  # noqa: PLC0415 - boto3 optional

        live = self.reloader.current  # this notification's config, whatever a reload does meanwhile
        if not live.cp.objects:
            raise ConflictError("this server's control plane maps no S3 locations to datasets: add s3.yaml "
                                "(docs/control-plane.md); it is picked up without a restart")
        with self._lock:
            if self._s3 is None or self._s3_generation != live.generation:  # made again after a reload
                self._s3 = S3ObjectIngester(live.cp, None, aws_client("s3"), enforcer=live.value.enforcer)
                self._s3_generation = live.generation
            try:
                evidence = self._s3.handle_notification(body)
            except S3TransportError as e:
                self._s3.take_quality()  # nothing of this notification is stored: its counts go too
                raise UpstreamUnavailableError(f"{e}; the notification was not ingested, send it again") from e
            quality = self._s3.take_quality()
        answer = self._ingest(lambda replay: replay.ingest_evidence(evidence, quality=quality), "s3")
        answer["results"] = [{"evidence_id": ev.evidence_id, "result": ev.validation.result,
                              "reason_codes": ev.validation.reason_codes, "dataset": ev.dataset_urn,
                              "object": ev.source.input_dataset if ev.source else None,
                              "row": ev.source.offset if ev.source else None} for ev in evidence]
        return answer

    def ingest_traces(self, body: bytes, kind: str) -> otlp.TraceAnswer:
        """One OTLP export (`kind`: its media type) -> kept spans and deployment hints (decoded outside the
        writer lock: only the store write waits for the other writers)."""
        found = otlp.read_export(body, kind)
        with self._lock:
            answer = otlp.store_export(self.store, self.cp, found)
            self.writes += 1
        return answer

    def add_deployments(self, body: bytes) -> dict[str, Any]:
        try:
            markers = [parse_marker(doc, where) for where, doc in body_items(body, "deployment markers")]
        except DeploymentFileError as e:
            raise BadRequestError(str(e)) from e
        with self._lock:
            with self.store.transaction():
                GraphWriter(self.store.graph, self.cp).write_deployments(markers)
            self.writes += 1
        return {"deployments": len(markers),
                "ids": [f"Deployment:{m.service}:{m.version}" for m in markers]}


def _now_ms() -> int:
    """Mutes run on the wall clock (an on-call engineer's "for 2 hours"), not on event time."""
    return int(time.time() * 1000)


def _muted_view(incident: Incident, active: list[Mute], now_ms: int) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(incident)
    mute = covering(active, incident.dataset_urn, incident.failure_signature, now_ms)
    out["muted_by"] = msgspec.to_builtins(mute) if mute is not None else None
    return out
