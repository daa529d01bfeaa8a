"""GET routes over real HTTP against Scenario 1 (read-only server)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

ORDERS = "urn:dp:orders:created"


@pytest.fixture
def client(api_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server, timeout=10) as c:
        yield c


def test_health(client: httpx.Client) -> None:
    """Health answers ok with the package version."""
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["version"]


def test_datasets_show_orders_critical_with_one_open_incident(client: httpx.Client) -> None:
    """Every control-plane dataset is listed; orders:created is CRITICAL with one open incident."""
    rows = {d["urn"]: d for d in client.get("/api/v1/datasets").json()}
    orders = rows[ORDERS]
    assert orders["worst_state"] == "CRITICAL"
    assert orders["open_incidents"] == 1
    assert orders["states"]["CONTRACT_BREACH"]["state"] == "CRITICAL"
    assert orders["feeds"] == [{"to": "urn:dp:orders:bronze", "type": "STREAM"}]
    assert orders["tier"] == 1
    assert set(orders) >= {"name", "type", "owner", "classification", "consumers"}
    assert all(d["worst_state"] in ("OK", "UNKNOWN", "WARNING", "CRITICAL") for d in rows.values())


def test_dataset_by_urn_and_404(client: httpx.Client) -> None:
    """One dataset by URN; an unknown URN is a 404 naming the known ones."""
    assert client.get(f"/api/v1/datasets/{ORDERS}").json()["open_incidents"] == 1
    r = client.get("/api/v1/datasets/urn:dp:nope:nope")
    assert r.status_code == 404
    assert ORDERS in r.json()["detail"]


def test_signals_filters(client: httpx.Client) -> None:
    """Signals filter by dataset, type, since and limit, newest first; a bad `since` is a 400."""
    rows = client.get("/api/v1/signals", params={"dataset": ORDERS, "type": "CONTRACT_BREACH"}).json()
    assert rows
    assert all(s["dataset_urn"] == ORDERS and s["signal_type"] == "CONTRACT_BREACH" for s in rows)
    stamps = [s["timestamp"] for s in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert len(client.get("/api/v1/signals", params={"limit": 1}).json()) == 1
    assert client.get("/api/v1/signals", params={"since": "2030-01-01T00:00:00Z"}).json() == []
    r = client.get("/api/v1/signals", params={"since": "yesterday"})
    assert r.status_code == 400
    assert "since" in r.json()["detail"]


def test_incidents_list_show_and_404(client: httpx.Client) -> None:
    """INC-1 is the open SEV-1 for orders:created; an unknown id is a 404 saying how to list ids."""
    (incident,) = client.get("/api/v1/incidents", params={"status": "open"}).json()
    assert (incident["incident_id"], incident["severity"], incident["dataset_urn"]) == ("INC-1", "SEV-1", ORDERS)
    assert client.get("/api/v1/incidents", params={"dataset": "urn:dp:inventory:updated"}).json() == []
    assert client.get("/api/v1/incidents/INC-1").json()["failure_signature"] == "MISSING_FIELD:customer_id"
    r = client.get("/api/v1/incidents/INC-999")
    assert r.status_code == 404
    assert "GET /api/v1/incidents" in r.json()["detail"]


def test_notices_list_scenario1_drift_notice(client: httpx.Client) -> None:
    """Scenario 1's first-seen MISSING_FIELD:customer_id is one notice (09:55-10:00 window, Slack and the
    webhook); filters by dataset and since; a bad `since` is a 400."""
    (notice,) = client.get("/api/v1/notices").json()
    assert (notice["dataset_urn"], notice["window_start"], notice["window_end"]) == (
        ORDERS, "2024-01-15T09:55:00.000Z", "2024-01-15T10:00:00.000Z")
    assert [(s["signature"], s["first_seen"]) for s in notice["signatures"]] == [
        ("MISSING_FIELD:customer_id", "2024-01-15T09:58:02.127Z")]
    assert notice["routes"] == ["data-platform-slack", "incident-webhook"]
    assert client.get("/api/v1/notices", params={"dataset": ORDERS}).json() == [notice]
    assert client.get("/api/v1/notices", params={"dataset": "urn:dp:inventory:updated"}).json() == []
    assert client.get("/api/v1/notices", params={"since": "2024-01-15T09:59:00Z"}).json() == [notice]
    assert client.get("/api/v1/notices", params={"since": "2024-01-15T10:00:00Z"}).json() == []
    r = client.get("/api/v1/notices", params={"since": "soon"})
    assert r.status_code == 400
    assert "since" in r.json()["detail"]


def test_evidence_by_id_dataset_and_signature(client: httpx.Client) -> None:
    """Evidence by id, by dataset (time range, result) and by signature (+ dataset)."""
    failed = client.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "fail", "limit": 5,
                                                    "since": "2024-01-15T09:55:00Z",
                                                    "until": "2024-01-15T10:00:00Z"}).json()
    assert len(failed) == 5
    assert all(e["validation"]["result"] == "FAIL" for e in failed)
    one = client.get(f"/api/v1/evidence/{failed[0]['evidence_id']}").json()
    assert one == failed[0]
    by_sig = client.get("/api/v1/evidence", params={"signature": "MISSING_FIELD:customer_id", "dataset": ORDERS,
                                                    "limit": 3}).json()
    assert len(by_sig) == 3
    assert all("MISSING_FIELD:customer_id" in e["validation"]["reason_codes"] for e in by_sig)
    assert client.get("/api/v1/evidence", params={"run": "no-such-run"}).json() == []
    assert client.get("/api/v1/evidence/evd-nope").status_code == 404


@pytest.mark.parametrize("params", [{}, {"run": "r1", "dataset": ORDERS}, {"run": "r1", "signature": "X"}])
def test_evidence_query_needs_exactly_one_selector(client: httpx.Client, params: dict[str, str]) -> None:
    """No selector, or `run` with another, is a 400 explaining the three forms."""
    r = client.get("/api/v1/evidence", params=params)
    assert r.status_code == 400
    assert "dataset" in r.json()["detail"]


def test_rca_incident_names_the_deploy(client: httpx.Client) -> None:
    """The RCA of INC-1 blames orders-svc v3.17."""
    report = client.get("/api/v1/rca/incidents/INC-1").json()
    assert (report["root_cause"]["service"], report["root_cause"]["version"]) == ("orders-svc", "v3.17")
    assert client.get("/api/v1/rca/incidents/INC-999").status_code == 404


def test_rca_signature_with_colons(client: httpx.Client) -> None:
    """A signature containing ':' is taken whole from the path."""
    r = client.get("/api/v1/rca/signatures/MISSING_FIELD:customer_id", params={"dataset": ORDERS})
    assert r.status_code == 200, r.text
    assert r.json()["header"]["failure_signature"] == "MISSING_FIELD:customer_id"


def test_graph_incident_subgraph_is_the_causal_chain(client: httpx.Client) -> None:
    """Deployment:orders-svc:v3.17 -INTRODUCED-> FailureSignature -CAUSED-> Signal -TRIGGERED-> Incident."""
    g = client.get("/api/v1/graph/incidents/INC-1").json()
    ids = {n["id"] for n in g["nodes"]}
    edges = {(e["src"], e["type"], e["dst"]) for e in g["edges"]}
    dep = "Deployment:orders-svc:v3.17"
    sig = f"FailureSignature:MISSING_FIELD:customer_id@{ORDERS}"
    assert {dep, sig, "Incident:INC-1", "Service:orders-svc", f"Dataset:{ORDERS}"} <= ids
    assert (dep, "INTRODUCED", sig) in edges
    signals = {d for s, t, d in edges if s == sig and t == "CAUSED"}
    assert signals
    assert any((s, "TRIGGERED", "Incident:INC-1") in edges for s in signals)
    assert (f"Dataset:{ORDERS}", "FEEDS", "Dataset:urn:dp:orders:bronze") in edges
    assert client.get("/api/v1/graph/incidents/INC-999").status_code == 404


def test_graph_lineage_and_neighbourhood(client: httpx.Client) -> None:
    """Lineage is the Dataset nodes and 5 FEEDS edges; a node's neighbourhood includes both directions."""
    lineage = client.get("/api/v1/graph/lineage").json()
    assert len(lineage["edges"]) == 5
    assert {e["type"] for e in lineage["edges"]} == {"FEEDS"}
    assert {n["kind"] for n in lineage["nodes"]} == {"Dataset"}
    near = client.get(f"/api/v1/graph/nodes/Dataset:{ORDERS}", params={"depth": 1}).json()
    near_ids = {n["id"] for n in near["nodes"]}
    assert {"Dataset:urn:dp:orders:bronze", f"Dataset:{ORDERS}"} <= near_ids
    assert any(e["dst"] == f"Dataset:{ORDERS}" for e in near["edges"])  # incoming edges too
    deep = client.get(f"/api/v1/graph/nodes/Dataset:{ORDERS}", params={"depth": 99}).json()
    assert len(deep["nodes"]) <= 500
    assert client.get("/api/v1/graph/nodes/Dataset:urn:dp:nope:nope").status_code == 404


def test_openapi_lists_the_routes(client: httpx.Client) -> None:
    """/openapi.json documents every API route; /docs serves the docs page."""
    paths = client.get("/openapi.json").json()["paths"]
    expected = {"/api/v1/health", "/api/v1/datasets", "/api/v1/datasets/{urn}", "/api/v1/signals",
                "/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/api/v1/incidents/{incident_id}/ack",
                "/api/v1/incidents/{incident_id}/resolve", "/api/v1/evidence", "/api/v1/evidence/{evidence_id}",
                "/api/v1/rca/incidents/{incident_id}", "/api/v1/rca/signatures/{signature}",
                "/api/v1/graph/nodes/{node_id}", "/api/v1/graph/lineage", "/api/v1/graph/incidents/{incident_id}",
                "/api/v1/events", "/api/v1/records", "/api/v1/deployments"}
    assert expected <= set(paths)
    assert client.get("/docs").status_code == 200


def test_unknown_api_path_is_json_404(client: httpx.Client) -> None:
    """Unknown /api/... paths (any method) are JSON 404s pointing at /openapi.json."""
    for method in ("GET", "POST"):
        r = client.request(method, "/api/v1/nope")
        assert r.status_code == 404
        assert "/openapi.json" in r.json()["detail"]


def test_validation_errors_name_the_field(client: httpx.Client) -> None:
    """A 422 says which parameter was wrong."""
    r = client.get("/api/v1/signals", params={"limit": "lots"})
    assert r.status_code == 422
    assert "query parameter `limit`" in r.json()["detail"]


def test_spa_fallback_serves_index_for_ui_paths(client: httpx.Client) -> None:
    """/, /incidents/INC-1 and /datasets/<urn> serve the UI's index page (or the missing-assets page)."""
    for path in ("/", "/incidents/INC-1", f"/datasets/{ORDERS}", "/lineage"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "Signal Factory" in r.text
