"""Top-bar search (`GET /api/v1/find?q=`): datasets (URN, name), failure signatures, incidents (id, title,
signature, suspected producer) and deployments (service, version, commit) whose text contains the query,
case-insensitively; grouped by kind, best match first (exact, then prefix, then anywhere), each with the
UI page that opens it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.stores.ports import Store

KINDS = ("dataset", "signature", "incident", "deployment")
#: Incidents and graph nodes read per search: the newest this many (a search box, not a report).
SCAN = 5000


def _rank(needle: str, fields: Iterable[str | None]) -> int | None:
    """0 exact, 1 prefix, 2 substring of any field; None when no field contains the needle."""
    best: int | None = None
    for f in fields:
        text = (f or "").lower()
        if not text or needle not in text:
            continue
        r = 0 if text == needle else 1 if text.startswith(needle) else 2
        best = r if best is None else min(best, r)
    return best


def _top(hits: list[tuple[int, str, dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    return [item for _, _, item in sorted(hits, key=lambda h: (h[0], h[1]))[:limit]]


def find(cp: ControlPlane, store: Store, text: str, *, limit: int = 8) -> dict[str, Any]:
    needle = text.strip().lower()
    groups: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    if needle:
        groups["dataset"] = _datasets(cp, needle, limit)
        groups["signature"] = _signatures(store, needle, limit)
        groups["incident"] = _incidents(store, needle, limit)
        groups["deployment"] = _deployments(store, needle, limit)
    return {"query": text, "groups": [{"kind": k, "items": groups[k]} for k in KINDS if groups[k]],
            "total": sum(len(v) for v in groups.values())}


def _datasets(cp: ControlPlane, needle: str, limit: int) -> list[dict[str, Any]]:
    hits = []
    for urn, ds in cp.datasets.items():
        r = _rank(needle, (urn, ds.name, urn.removeprefix("urn:dp:")))
        if r is not None:
            hits.append((r, urn, {"kind": "dataset", "id": urn, "label": ds.name or urn,
                                  "detail": f"{urn} · tier {ds.tier} · {ds.owner}",
                                  "href": f"/datasets/{quote(urn, safe='')}"}))
    return _top(hits, limit)


def _signatures(store: Store, needle: str, limit: int) -> list[dict[str, Any]]:
    hits = []
    for node in store.graph.nodes_of_kind("FailureSignature", limit=SCAN):
        code, urn = str(node.props.get("reason_code", "")), str(node.props.get("dataset_urn", ""))
        r = _rank(needle, (code,))
        if r is not None and code:
            query = urlencode({"signature": code, "dataset": urn})
            hits.append((r, node.key, {"kind": "signature", "id": code, "label": code,
                                       "detail": f"{urn.removeprefix('urn:dp:')} · {node.props.get('count', '?')} "
                                                 f"records · first seen {node.props.get('first_seen', '?')}",
                                       "href": f"/evidence?{query}"}))
    return _top(hits, limit)


def _incidents(store: Store, needle: str, limit: int) -> list[dict[str, Any]]:
    hits = []
    for inc in store.incidents.list(limit=SCAN):
        sp = inc.suspected_producer
        producer = f"{sp.service} {sp.version or ''}".strip() if sp is not None else None
        r = _rank(needle, (inc.incident_id, inc.title, inc.failure_signature, producer,
                           sp.version if sp is not None else None))
        if r is not None:
            detail = f"{inc.severity} · {inc.status}" + (f" · suspected {producer}" if producer else "")
            hits.append((r, inc.incident_id, {"kind": "incident", "id": inc.incident_id,
                                              "label": f"{inc.incident_id} · {inc.title}", "detail": detail,
                                              "href": f"/incidents/{quote(inc.incident_id, safe='')}"}))
    return _top(hits, limit)


def _deployments(store: Store, needle: str, limit: int) -> list[dict[str, Any]]:
    hits = []
    for node in store.graph.nodes_of_kind("Deployment", limit=SCAN):
        p = node.props
        service, version = str(p.get("service", "")), str(p.get("version", ""))
        r = _rank(needle, (service, version, f"{service} {version}", node.key, p.get("commit")))
        if r is not None:
            detail = " · ".join(str(x) for x in (f"deployed {p.get('deployed_at', '?')}",
                                                 p.get("commit") and f"commit {p['commit']}", p.get("description"))
                                if x)
            hits.append((r, node.key, {"kind": "deployment", "id": node.id, "label": f"{service} {version}",
                                       "detail": detail, "href": f"/evidence?{urlencode({'producer': service})}"}))
    return _top(hits, limit)
