"""The health grid's measures carry their own units, and "at risk" follows the blast radius's FEEDS walk."""

from __future__ import annotations

from signal_factory.api.health_view import at_risk, measure
from signal_factory.graph.memory import MemoryGraphStore
from signal_factory.graph.model import DATASET, FEEDS, Edge, Node, node_id


def test_each_metric_reads_in_its_own_unit() -> None:
    """Compliance is a percentage; a lag is a duration; a count is a count; a cost is never a percentage."""
    assert measure("compliance_rate", 0.1019, "CONTRACT_BREACH")["text"] == "10.2% compliant"
    assert measure("lag_s", 91_355_117.0, "FRESHNESS_BREACH")["text"] == "1057 d 8 h behind"
    assert measure("lag_s", 252.0, "FRESHNESS_BREACH")["text"] == "4 min 12 s behind"
    assert measure("observed_count", 1247.0, "VOLUME_ANOMALY")["text"] == "1,247 records in window"
    assert measure("observed_count", 1.0, "VOLUME_ANOMALY")["text"] == "1 record in window"
    assert measure("cost_units", 12.5, "COST_ANOMALY")["text"] == "12.50 cost units"
    assert measure(None, 380.0, "DRIFT_DETECTED")["text"] == "380 records with a new signature"  # stored before
    assert measure("count", 1.0, "DRIFT_DETECTED")["text"] == "1 record with a new signature"  # score_metric
    assert measure(None, None, "CONTRACT_BREACH") is None


def test_at_risk_names_the_nearest_breach_and_path() -> None:
    """Datasets downstream of a breached one (not breached themselves) get the path from the breach."""
    graph = MemoryGraphStore()
    urns = ["a", "b", "c", "d", "x"]
    graph.merge_nodes([Node(kind=DATASET, key=u) for u in urns])
    graph.merge_edges([Edge(src=node_id(DATASET, s), type=FEEDS, dst=node_id(DATASET, d))
                       for s, d in (("a", "b"), ("b", "c"), ("c", "d"))])
    views = [{"urn": "a", "worst_state": "CRITICAL"}, {"urn": "b", "worst_state": "UNKNOWN"},
             {"urn": "c", "worst_state": "WARNING"}, {"urn": "d", "worst_state": "OK"},
             {"urn": "x", "worst_state": "UNKNOWN"}]
    risk = at_risk(graph, views)
    assert risk["b"] == {"from": "a", "path": ["a", "b"]}
    assert risk["d"] == {"from": "c", "path": ["c", "d"]}  # the nearer breach wins
    assert "c" not in risk  # breached itself: its own state says so
    assert "x" not in risk
