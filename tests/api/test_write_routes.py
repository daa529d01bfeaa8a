"""Writes over real HTTP: auth, body limits, ingest through the pipeline, incident transitions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import msgspec
import pytest

from tests.api.records import failing_orders

ORDERS = "urn:dp:orders:created"
LIMIT = 64_000  # max_body_bytes of the test servers


@pytest.fixture
def writer(api_server_token: tuple[str, str]) -> Iterator[httpx.Client]:
    base, token = api_server_token
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_read_only_server_refuses_writes_with_403(api_server: str) -> None:
    """Without a configured token every write is a 403 saying how to enable writes."""
    with httpx.Client(base_url=api_server, timeout=10) as c:
        for path in ("/api/v1/records", "/api/v1/evidence", "/api/v1/deployments"):
            r = c.post(path, content=b"[]", headers={"Authorization": "Bearer x"})
            assert r.status_code == 403
            assert r.json()["detail"] == ("this server is read-only: start it with SIGNAL_FACTORY_API_TOKEN set "
                                          "to accept writes")
        assert c.post("/api/v1/incidents/INC-1/ack", json={"by": "me"}).status_code == 403


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic dXNlcjpwdw=="])
def test_missing_or_wrong_token_is_401(api_server_token: tuple[str, str], auth: str | None) -> None:
    """A missing, wrong or non-Bearer credential is a 401 with WWW-Authenticate: Bearer."""
    base, _ = api_server_token
    headers = {"Authorization": auth} if auth else {}
    r = httpx.post(f"{base}/api/v1/incidents/INC-1/ack", json={"by": "me"}, headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["detail"]


def test_ack_then_resolve_then_409(writer: httpx.Client) -> None:
    """The right token acknowledges and resolves INC-1; acknowledging it again is a 409 with the reason."""
    r = writer.post("/api/v1/incidents/INC-1/ack", json={"by": "alice"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["acknowledged_by"]) == ("ACKNOWLEDGED", "alice")
    r = writer.post("/api/v1/incidents/INC-1/resolve", json={"by": "alice", "note": "rolled back v3.17"})
    assert r.status_code == 200
    assert r.json()["status"] == "RESOLVED"
    assert "rolled back v3.17" in r.json()["resolution"]
    r = writer.post("/api/v1/incidents/INC-1/ack", json={"by": "bob"})
    assert r.status_code == 409
    assert "RESOLVED" in r.json()["detail"]
    assert writer.get("/api/v1/incidents/INC-1").json()["status"] == "RESOLVED"
    assert writer.post("/api/v1/incidents/INC-404/ack", json={"by": "bob"}).status_code == 404


def test_transition_body_is_validated(writer: httpx.Client) -> None:
    """A missing `by` is a 422 naming the body field."""
    r = writer.post("/api/v1/incidents/INC-1/ack", json={})
    assert r.status_code == 422
    assert "body field `by`" in r.json()["detail"]


def test_ingest_records_runs_the_pipeline(writer: httpx.Client) -> None:
    """Posted records become evidence, signals and incident updates; posting them again adds nothing."""
    def count() -> int:
        rows = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "since": "2024-01-15T10:50:00Z",
                                                       "limit": 10_000}).json()
        return len(rows)

    assert count() == 0
    r = writer.post("/api/v1/records", json=failing_orders(60))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["records"], body["evidence"]) == (60, 60)
    assert body["signals"]
    assert body["incidents"]
    assert count() == 60
    for sid in body["signals"]:
        assert any(s["signal_id"] == sid for s in writer.get("/api/v1/signals", params={"limit": 1000}).json())
    again = writer.post("/api/v1/records", json=failing_orders(60)).json()
    assert (again["evidence"], again["signals"]) == (0, [])


def test_ingest_records_as_json_lines(writer: httpx.Client) -> None:
    """JSON lines work as well as an array; a line that is not a record becomes FAIL evidence, not an error."""
    lines = b"\n".join(msgspec.json.encode(r) for r in failing_orders(3, start_offset=70_000_000))
    r = writer.post("/api/v1/records", content=lines + b"\nnot json\n",
                    headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert r.json()["records"] == 4
    assert r.json()["evidence"] == 4


def test_ingest_evidence_and_bad_evidence(writer: httpx.Client) -> None:
    """Evidence from elsewhere is stored (400 naming the item when it is not evidence)."""
    (ev,) = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 1}).json()
    ev["evidence_id"] = "evd-from-spark-0001"
    r = writer.post("/api/v1/evidence", json=[ev])
    assert r.status_code == 200, r.text
    assert r.json()["evidence"] == 1
    assert writer.get("/api/v1/evidence/evd-from-spark-0001").status_code == 200
    r = writer.post("/api/v1/evidence", json=[{"evidence_id": 3}])
    assert r.status_code == 400
    assert "item 0" in r.json()["detail"]
    assert writer.post("/api/v1/evidence", content=b"  ").status_code == 400


def test_future_dated_evidence_from_elsewhere_is_flagged_clock_skew(writer: httpx.Client) -> None:
    """Evidence made elsewhere and stamped years ahead of our clock is kept (one evidence) but flagged
    CLOCK_SKEW:future, so it cannot move a watermark or the freshness clock; an ordinary one is unchanged."""
    (ev,) = writer.get("/api/v1/evidence", params={"dataset": ORDERS, "result": "FAIL", "limit": 1}).json()
    future = {**ev, "evidence_id": "evd-from-elsewhere-2030",
              "source": {**(ev.get("source") or {}), "timestamp": "2030-01-01T00:00:00.000Z"}}
    ordinary = {**ev, "evidence_id": "evd-from-elsewhere-now"}
    r = writer.post("/api/v1/evidence", json=[future, ordinary])
    assert r.status_code == 200, r.text
    flagged = writer.get("/api/v1/evidence/evd-from-elsewhere-2030").json()
    assert "CLOCK_SKEW:future" in flagged["validation"]["reason_codes"]
    assert flagged["validation"]["result"] == "FAIL"  # at least WARN; a FAIL stays FAIL
    kept = writer.get("/api/v1/evidence/evd-from-elsewhere-now").json()
    assert kept["validation"]["reason_codes"] == ev["validation"]["reason_codes"]


def test_post_deployments(writer: httpx.Client) -> None:
    """A marker (object or array) lands in the graph; a bad marker is a 400 with the fix."""
    marker = {"service": "orders-svc", "version": "v3.18", "at": "2024-01-15T11:30:00Z", "commit": "abc1234"}
    r = writer.post("/api/v1/deployments", json=marker)
    assert r.status_code == 200, r.text
    assert r.json() == {"deployments": 1, "ids": ["Deployment:orders-svc:v3.18"]}
    assert writer.get("/api/v1/graph/nodes/Deployment:orders-svc:v3.18", params={"depth": 1}).status_code == 200
    r = writer.post("/api/v1/deployments", json=[{"service": "x", "version": "1", "at": "soon"}])
    assert r.status_code == 400
    assert "ISO-8601" in r.json()["detail"]


def test_body_over_limit_by_content_length_is_413(writer: httpx.Client) -> None:
    """A declared Content-Length over the limit is refused with the limit in the message."""
    r = writer.post("/api/v1/records", content=b"x" * (LIMIT + 1))
    assert r.status_code == 413
    assert f"{LIMIT:,} bytes" in r.json()["detail"]


def test_chunked_body_over_limit_is_413(writer: httpx.Client) -> None:
    """A chunked body (no Content-Length) is counted while streaming and refused past the limit."""
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 8_000

    r = writer.post("/api/v1/records", content=chunks())
    assert r.status_code == 413
    assert f"{LIMIT:,} bytes" in r.json()["detail"]
    assert writer.post("/api/v1/records", content=iter([b"   "])).status_code == 400  # small chunked: passes
