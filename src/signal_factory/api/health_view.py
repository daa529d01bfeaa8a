"""What the health grid shows per dataset: each signal state's measure with its unit, and "at risk" for
datasets downstream of a breach (with the FEEDS path), so a tile never shows a lag or a cost as a
percentage, and a consumer of broken data is not shown as UNKNOWN. Pure functions over API views."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from signal_factory.graph.model import split_id
from signal_factory.graph.ports import GraphStore
from signal_factory.rca.impact import downstream

BREACHED = frozenset({"CRITICAL", "WARNING"})
#: metric -> (unit, label); the label reads "<value> <label>" ("record" is made plural as needed).
UNITS = {
    "compliance_rate": ("ratio", "compliant"),
    "observed_count": ("records", "record in window"),
    "lag_s": ("seconds", "behind"),
    "duration_s": ("seconds", "run time"),
    "cost_units": ("cost units", "cost units"),
    "count": ("records", "record with a new signature"),  # drift: records carrying first-seen signatures
}


#: States stored before `score_metric` existed: the metric each engine scores by.
_ENGINE_METRIC = {"CONTRACT_BREACH": "compliance_rate", "DQ_BREACH": "compliance_rate",
                  "VOLUME_ANOMALY": "observed_count", "FRESHNESS_BREACH": "lag_s", "COST_ANOMALY": "cost_units",
                  "DRIFT_DETECTED": "count"}


def measure(metric: str | None, value: float | None, signal_type: str = "") -> dict[str, Any] | None:
    """`{metric, value, unit, text}` for a state's score, or None when it has none."""
    metric = metric or _ENGINE_METRIC.get(signal_type)
    if metric is None or value is None or metric not in UNITS:
        return None
    unit, label = UNITS[metric]
    if unit == "ratio":
        text = f"{_pct(value)} {label}"
    elif unit == "seconds":
        text = f"{_duration(value)} {label}"
    elif unit == "cost units":
        text = f"{value:,.2f} {label}"
    else:
        n = int(value)
        text = f"{n:,} {label.replace('record', 'records', 1) if n != 1 else label}"
    return {"metric": metric, "value": value, "unit": unit, "text": text}


def _pct(ratio: float) -> str:
    pct = ratio * 100
    return f"{pct:.1f}%" if pct < 99.95 or pct >= 100 else f"{pct:.2f}%"


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 172_800:
        return f"{s // 3600} h {(s % 3600) // 60} min"
    return f"{s // 86_400} d {(s % 86_400) // 3600} h"


def at_risk(graph: GraphStore, views: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """For every dataset downstream (over FEEDS, as the RCA's blast radius walks) of a breached one and not
    breached itself: `{"from": breached URN, "path": [URNs from it to this one]}`; the nearest breach wins."""
    views = list(views)
    breached = sorted(v["urn"] for v in views if v.get("worst_state") in BREACHED)
    own = {v["urn"]: v.get("worst_state") for v in views}
    out: dict[str, dict[str, Any]] = {}
    for root in breached:
        parent: dict[str, str] = {}
        for r in downstream(graph, [root]):
            if r.edge is not None:
                parent[r.urn] = split_id(r.edge.src)[1]
            if own.get(r.urn) in BREACHED:
                continue
            path = [r.urn]
            while path[-1] in parent and path[-1] != root:
                path.append(parent[path[-1]])
            path.reverse()
            best = out.get(r.urn)
            if best is None or len(path) < len(best["path"]):
                out[r.urn] = {"from": root, "path": path}
    return out
