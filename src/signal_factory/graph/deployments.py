"""Deployment markers: "service S version V went live at T", from a CD hook, a file, or inferred.

A marker file is JSON lines, one deploy per line (see `examples/orders/scenario1/deployments.jsonl`):

    {"service": "orders-svc", "version": "v3.17", "at": "2024-01-15T09:57:45.000Z", "commit": "9f3c2d1"}

When no marker exists for a producer version the evidence shows, `infer_deployments` makes one from
the first evidence carrying it (source "inferred", at = first_seen = that evidence's event time). The
first version ever seen of a service is its baseline, not a deploy: only a change is inferred.
A new `service.version` on a service's OTLP spans is the same kind of hint (source "otel", at =
first_seen = the earliest span start with it); the RCA ranks both alike, and a marker overwrites either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import msgspec

from signal_factory.errors import SignalFactoryError
from signal_factory.graph.model import DEPLOYED, DEPLOYMENT, SERVICE, Edge, Node, deployment_key, node_id
from signal_factory.model.evidence import Evidence
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.privacy.guard import MAX_TEXT, safe_text, safe_token

Source = Literal["marker", "inferred", "otel"]
MARKER: Source = "marker"
INFERRED: Source = "inferred"
#: From a new `service.version` resource attribute on OTLP spans (`GraphWriter.on_span_versions`).
OTEL: Source = "otel"
#: Producer attributions trusted enough to infer a deploy from (G2: header HIGH, topic owner MEDIUM).
TRUSTED_CONFIDENCE = frozenset({"HIGH", "MEDIUM"})
_EXAMPLE = '{"service": "orders-svc", "version": "v3.17", "at": "2024-01-15T09:57:45Z", "commit": "9f3c2d1"}'


class DeploymentMarker(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    service: str
    version: str
    at: str  # ISO-8601 UTC: when it went live (inferred: when it was first seen)
    commit: str | None = None
    description: str | None = None
    source: Source = MARKER
    first_seen: str | None = None  # inferred: the first evidence's event time
    first_evidence: str | None = None  # inferred: that evidence's id

    @property
    def at_ms(self) -> int:
        ms = parse_iso_ms(self.at)
        if ms is None:
            raise SignalFactoryError(f"deployment {self.service} {self.version}: `at` {self.at!r} is not ISO-8601")
        return ms


class DeploymentFileError(SignalFactoryError):
    """A marker file line is not a deployment marker; the message names file:line and the fix."""


_decoder = msgspec.json.Decoder(DeploymentMarker)


def parse_marker(line: bytes | str, where: str) -> DeploymentMarker:
    """One JSON line -> marker; `where` (file:line) goes into the error."""
    try:
        marker = _decoder.decode(line)
    except msgspec.DecodeError as e:  # ValidationError is a DecodeError
        raise DeploymentFileError(f"{where}: not a deployment marker: {e}\n  fix: one JSON object per line, "
                                  f"like {_EXAMPLE}") from e
    for name in ("service", "version"):
        if not getattr(marker, name).strip():
            raise DeploymentFileError(f"{where}: `{name}` is empty\n  fix: give the service name and version")
    if parse_iso_ms(marker.at) is None:
        raise DeploymentFileError(f"{where}: `at` {safe_text(marker.at)!r} is not an ISO-8601 time\n"
                                  "  fix: write it like 2024-01-15T09:57:45Z")
    return guard_marker(marker)


def guard_marker(m: DeploymentMarker) -> DeploymentMarker:
    """The marker with its producer-controlled strings guarded (`privacy/guard.py`): service and version
    as the record path guards a producer's (so a marker and an inferred deployment of one version agree),
    commit and the other names through `safe_text`, the description as free text."""
    def opt(value: str | None, limit: int = 256) -> str | None:
        return None if value is None else safe_text(value, limit=limit)

    return msgspec.structs.replace(
        m, service=safe_token(m.service), version=safe_token(m.version), commit=opt(m.commit),
        description=opt(m.description, MAX_TEXT), first_seen=opt(m.first_seen), first_evidence=opt(m.first_evidence))


def load_markers(path: Path | str) -> list[DeploymentMarker]:
    """Every marker in a JSON-lines file (blank lines skipped). Raises `DeploymentFileError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DeploymentFileError(f"{path}: cannot read deployment markers: {e.strerror}") from e
    return [parse_marker(raw, f"{path}:{number}")
            for number, raw in enumerate(data.splitlines(), start=1) if raw.strip()]


def markers_to_graph(markers: Iterable[DeploymentMarker]) -> tuple[list[Node], list[Edge]]:
    """Deployment nodes (ts_ms = deployed_at), their Service nodes, and Service-[DEPLOYED]->Deployment."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for m in markers:
        props: dict[str, object] = {"service": m.service, "version": m.version, "deployed_at": m.at,
                                    "source": m.source, "inferred": m.source != MARKER}
        for name in ("commit", "description", "first_seen", "first_evidence"):
            value = getattr(m, name)
            if value is not None:
                props[name] = value
        dep = Node(DEPLOYMENT, deployment_key(m.service, m.version), props, m.at_ms)
        nodes += [Node(SERVICE, m.service, {"name": m.service}), dep]
        edges.append(Edge(node_id(SERVICE, m.service), DEPLOYED, dep.id, {"at": m.at}))
    return nodes, edges


def infer_deployments(evidence: Sequence[Evidence], known: set[tuple[str, str]]) -> list[DeploymentMarker]:
    """Inferred markers for producer versions not in `known` (service, version) pairs.

    Only evidence with a version and a HIGH or MEDIUM producer attribution counts. A service with no
    known version at all gets its earliest version here as a baseline (no marker); each later new
    version gets a marker at its first evidence (earliest event time, then evidence id). `known` is
    not changed: add the returned pairs (and the baselines, see `versions_seen`) yourself.
    """
    first: dict[tuple[str, str], tuple[int, str, str]] = {}
    for ev in evidence:
        p = ev.producer
        if p is None or not p.version or p.confidence not in TRUSTED_CONFIDENCE:
            continue
        at = ev.event_time()
        ms = parse_iso_ms(at)
        if ms is None:
            continue
        pair = (p.id, p.version)
        if pair in known:
            continue
        cur = first.get(pair)
        if cur is None or (ms, ev.evidence_id) < cur[:2]:
            first[pair] = (ms, ev.evidence_id, at)
    have = {service for service, _ in known}
    out: list[DeploymentMarker] = []
    for (service, version), (ms, evidence_id, _) in sorted(first.items(), key=lambda kv: (kv[1][:2], kv[0])):
        if service not in have:
            have.add(service)  # baseline
            continue
        seen = iso_ms(ms)
        out.append(DeploymentMarker(service=service, version=version, at=seen, source=INFERRED, first_seen=seen,
                                    first_evidence=evidence_id))
    return out


def versions_seen(evidence: Sequence[Evidence]) -> set[tuple[str, str]]:
    """The trusted (service, version) pairs in a batch (what `known` should grow by)."""
    return {(ev.producer.id, ev.producer.version) for ev in evidence
            if ev.producer is not None and ev.producer.version and ev.producer.confidence in TRUSTED_CONFIDENCE}
