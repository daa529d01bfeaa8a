"""S3 as a user runs it, against moto's server: `signal-factory ingest s3 --queue URL` drains SQS, and
`POST /api/v1/ingest/s3-notifications` takes S3 and EventBridge notifications; both store one evidence per
row (PII gate included) and count a redelivered notification once. Then the payloads read back:
`signal-factory evidence payload` and `GET /api/v1/evidence/{id}/payload`, from disk or an s3:// store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from signal_factory.api.app import create_app
from signal_factory.cli.main import app as cli
from signal_factory.model.evidence import UNRESOLVED_DATASET, Evidence
from signal_factory.stores.sql import open_store
from tests.conftest import EXAMPLE, order_payload
from tests.ingest.test_s3_objects import _jsonl, eventbridge, s3_endpoint, s3_event, sns_wrapped

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.slow
__all__ = ["s3_endpoint"]  # the moto server fixture

BUCKET = "landing"  # examples/orders/s3.yaml routes landing/orders/ to urn:dp:orders:created
WRITE, READ = "write-token-s3", "read-token-s3"
SSN = "123-45-6789"
ROWS = [order_payload(order_id="ORD-2024-0115-1"), order_payload(customer_id=None),
        order_payload(notes=f"customer SSN {SSN}")]


@pytest.fixture
def aws(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Any, Any]:
    """boto3 pointed at moto by the standard AWS variables (as the command and the server read them), the
    bucket, and SIGNAL_FACTORY_HOME in tmp."""
    for name, value in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "SIGNAL_FACTORY_HOME": str(tmp_path / "home")}.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    return s3, sqs


def _config(tmp: Path, payload: str = "none", max_inline: int = 4096) -> Path:
    """examples/orders with the payload policy set (s3.yaml included)."""
    dst = tmp / "cfg"
    shutil.copytree(EXAMPLE, dst)
    settings = dst / "signal-factory.yaml"
    text = settings.read_text().replace("payload: none ", f"payload: {payload} ")
    settings.write_text(text.replace("max_inline_payload_bytes: 4096", f"max_inline_payload_bytes: {max_inline}"))
    return dst


def _put(s3: Any, key: str, rows: list[Any], extra: bytes = b"") -> str:
    return str(s3.put_object(Bucket=BUCKET, Key=key, Body=_jsonl(rows) + extra)["ETag"]).strip('"')


def _stored(db: Path) -> list[Evidence]:
    with open_store(f"sqlite:///{db}") as store:
        found = store.evidence.by_dataset("urn:dp:orders:created", 0, 2**62, limit=1000)
        found += store.evidence.by_dataset(UNRESOLVED_DATASET, 0, 2**62, limit=1000)
    return sorted(found, key=lambda e: (e.source.offset or 0) if e.source else 0)


def _ingest(cfg: Path, db: Path, queue: str, *flags: str) -> str:
    out = CliRunner().invoke(cli, ["ingest", "s3", "--queue", queue, "--config", str(cfg), "--db", f"sqlite:///{db}",
                                   "--wait", "0", "--no-send", *flags])
    assert out.exit_code == 0, out.output
    return out.output


def test_ingest_s3_command_drains_the_queue_once_per_row(aws: tuple[Any, Any], tmp_path: Path) -> None:
    """`ingest s3 --queue` stores one evidence per row (a bad row FAILs, an SSN FAILs G5), a garbage message
    is one FAIL, messages are deleted, and the same notification delivered again adds nothing."""
    s3, sqs = aws
    queue = sqs.create_queue(QueueName="cli-events")["QueueUrl"]
    key = "orders/cli/part-0.jsonl"
    etag = _put(s3, key, ROWS, b"{broken\n")
    sqs.send_message(QueueUrl=queue, MessageBody=sns_wrapped(key, etag))
    sqs.send_message(QueueUrl=queue, MessageBody="{garbage")
    cfg, db = _config(tmp_path), tmp_path / "sf.db"
    output = _ingest(cfg, db, queue, "--max-messages", "2")
    assert "2 messages, 5 evidence (5 new)" in output
    rows = [e for e in _stored(db) if e.dataset_urn == "urn:dp:orders:created"]
    assert [(e.validation.result, e.source.offset if e.source else None) for e in rows] == \
        [("PASS", 1), ("FAIL", 2), ("FAIL", 3), ("FAIL", 4)]
    assert rows[1].validation.reason_codes == ["MISSING_FIELD:customer_id"]
    assert "PII_DETECTED:notes:SSN" in rows[2].validation.reason_codes
    assert rows[3].validation.reason_codes == ["MALFORMED_ROW:json"]
    assert [e.validation.reason_codes for e in _stored(db) if e.dataset_urn != "urn:dp:orders:created"] == \
        [["MALFORMED_NOTIFICATION:json"]]
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(s3_event(key, etag)))  # redelivered, another shape
    assert "1 messages, 4 evidence (0 new)" in _ingest(cfg, db, queue, "--once")
    assert len(_stored(db)) == 5


def test_ingest_s3_needs_an_s3_yaml(aws: tuple[Any, Any], tmp_path: Path) -> None:
    """Without s3.yaml the command says what to add instead of polling for nothing."""
    cfg = _config(tmp_path)
    (cfg / "s3.yaml").unlink()
    out = CliRunner().invoke(cli, ["ingest", "s3", "--queue", "http://x/q", "--config", str(cfg), "--once"])
    assert out.exit_code != 0
    assert "s3.yaml maps no S3 locations" in str(out.exception)


def _client(cfg: Path, tmp: Path, **kw: Any) -> TestClient:
    return TestClient(create_app(cfg, f"sqlite:///{tmp / 'api.db'}", home=tmp / "home", **kw))


def test_notification_endpoint_ingests_s3_and_eventbridge_events(aws: tuple[Any, Any], tmp_path: Path) -> None:
    """An S3 event posted with the write token stores one evidence per row; the EventBridge event for the
    same object stores nothing new; no token is 401, a read-only server 403, an oversized body 413."""
    s3, _ = aws
    key = "orders/api/part-0.jsonl"
    etag = _put(s3, key, ROWS)
    cfg = _config(tmp_path)
    auth = {"Authorization": f"Bearer {WRITE}"}
    with _client(cfg, tmp_path, token=WRITE, max_body_bytes=8_000) as client:
        r = client.post("/api/v1/ingest/s3-notifications", json=s3_event(key, etag), headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["evidence"] == 3
        assert [(x["result"], x["row"]) for x in body["results"]] == [("PASS", 1), ("FAIL", 2), ("FAIL", 3)]
        assert {x["object"] for x in body["results"]} == {f"s3://{BUCKET}/{key}"}
        again = client.post("/api/v1/ingest/s3-notifications", content=eventbridge(key, etag), headers=auth)
        assert again.status_code == 200, again.text
        assert again.json()["evidence"] == 0
        assert [x["evidence_id"] for x in again.json()["results"]] == [x["evidence_id"] for x in body["results"]]
        assert client.post("/api/v1/ingest/s3-notifications", json=s3_event(key, etag)).status_code == 401
        big = client.post("/api/v1/ingest/s3-notifications", content=b" " * 9_000, headers=auth)
        assert big.status_code == 413
    with _client(cfg, tmp_path / "ro") as client:
        assert client.post("/api/v1/ingest/s3-notifications", json=s3_event(key, etag), headers=auth).status_code == 403


def _payload_store_run(aws: tuple[Any, Any], tmp_path: Path) -> tuple[TestClient, list[dict[str, Any]]]:
    s3, _ = aws
    key = "orders/payloads/part-0.jsonl"
    etag = _put(s3, key, ROWS)
    cfg = _config(tmp_path, payload="all", max_inline=120)  # the SSN row is over 120 bytes: stored aside
    client = _client(cfg, tmp_path, token=WRITE, read_token=READ)
    client.__enter__()
    r = client.post("/api/v1/ingest/s3-notifications", json=s3_event(key, etag),
                    headers={"Authorization": f"Bearer {WRITE}"})
    assert r.status_code == 200, r.text
    return client, r.json()["results"]


@pytest.mark.parametrize("where", ["disk", "s3"])
def test_payload_reads_back_redacted_for_readers(aws: tuple[Any, Any], tmp_path: Path, where: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A payload stored aside (on disk, or under SIGNAL_FACTORY_PAYLOAD_STORE=s3://...) reads back through the
    API with the read token and through `evidence payload`, redacted as stored; unknown ids are 404
    problem+json, and without a token it is 401."""
    if where == "s3":
        aws[0].create_bucket(Bucket="sf-payloads")
        monkeypatch.setenv("SIGNAL_FACTORY_PAYLOAD_STORE", "s3://sf-payloads/evidence")
    client, results = _payload_store_run(aws, tmp_path)
    try:
        pii_id = results[2]["evidence_id"]
        ev = client.get(f"/api/v1/evidence/{pii_id}").json()
        assert ev.get("payload") is None
        assert ev["payload_ref"].startswith("s3://sf-payloads/evidence/" if where == "s3" else "sha256:")
        r = client.get(f"/api/v1/evidence/{pii_id}/payload", headers={"Authorization": f"Bearer {READ}"})
        assert r.status_code == 200, r.text
        assert r.json()["notes"] == "<redacted:SSN>"  # the whole value, as stored
        assert r.json()["order_id"] == ROWS[2]["order_id"]
        inline = client.get(f"/api/v1/evidence/{results[0]['evidence_id']}/payload",
                            headers={"Authorization": f"Bearer {WRITE}"})  # the write token reads too
        assert inline.json() == ROWS[0]
        assert client.get(f"/api/v1/evidence/{pii_id}/payload").status_code == 401
        missing = client.get("/api/v1/evidence/evd-nope/payload", headers={"Authorization": f"Bearer {READ}"})
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
        assert missing.json()["status"] == 404
    finally:
        client.__exit__(None, None, None)
    out = CliRunner().invoke(cli, ["evidence", "payload", pii_id, "--db", f"sqlite:///{tmp_path / 'api.db'}"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == r.json()
    assert SSN not in out.stdout


def test_payload_endpoint_is_not_served_without_tokens(aws: tuple[Any, Any], tmp_path: Path) -> None:
    """A server started with no token serves no payloads (403 naming the variable to set)."""
    with _client(_config(tmp_path), tmp_path) as client:
        r = client.get("/api/v1/evidence/evd-x/payload", headers={"Authorization": "Bearer x"})
    assert r.status_code == 403
    assert "SIGNAL_FACTORY_API_READ_TOKEN" in r.json()["detail"]


def test_notification_endpoint_says_what_is_missing(aws: tuple[Any, Any], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No s3.yaml: 409 naming the file to add; S3 unreachable: 503 with Retry-After (send it again)."""
    auth = {"Authorization": f"Bearer {WRITE}"}
    bare = _config(tmp_path / "bare")
    (bare / "s3.yaml").unlink()
    with _client(bare, tmp_path / "bare", token=WRITE) as client:
        r = client.post("/api/v1/ingest/s3-notifications", json=s3_event("orders/a.jsonl", "e"), headers=auth)
    assert (r.status_code, r.headers["content-type"]) == (409, "application/problem+json")
    assert "s3.yaml" in r.json()["detail"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with _client(_config(tmp_path / "dead"), tmp_path / "dead", token=WRITE) as client:
        r = client.post("/api/v1/ingest/s3-notifications", json=s3_event("orders/a.jsonl", "e"), headers=auth)
    assert (r.status_code, r.headers["retry-after"]) == (503, "5")
    assert "send it again" in r.json()["detail"]


def with_country_rule(cfg: Path) -> Path:
    """`cfg` with an aggregate rule on orders.created: fewer than 2 rows a window outside US/CA."""
    contract = cfg / "contracts/orders.created.odcs.yaml"
    text = contract.read_text()
    anchor = "      - name: currency\n"
    assert anchor in text
    contract.write_text(text.replace(anchor, "      - name: shipping_country\n        logicalType: string\n"
                                     "        quality: [{metric: invalidValues, arguments: {validValues: [US, CA]},"
                                     " mustBeLessThan: 2}]\n" + anchor, 1))
    return cfg


def test_s3_rows_count_toward_aggregate_rules(aws: tuple[Any, Any], tmp_path: Path) -> None:
    """An object whose rows breach an aggregate rule (6 rows outside the valid values, fewer than 2
    allowed) raises the rule's DQ_BREACH as streamed records do; a redelivery stores nothing new."""
    s3, _ = aws
    cfg = with_country_rule(_config(tmp_path))
    rows = [order_payload(order_id=f"ORD-2024-0115-{i:05d}", shipping_country="FR") for i in range(6)]
    key = "orders/agg/part-0.jsonl"
    etag = _put(s3, key, rows)
    auth = {"Authorization": f"Bearer {WRITE}"}

    def breaches() -> list[dict[str, Any]]:
        with open_store(f"sqlite:///{tmp_path / 'api.db'}") as store:
            found = store.signals.list(dataset_urn="urn:dp:orders:created", signal_type="DQ_BREACH", limit=100)
        return [r for s in found for r in (s.details or {}).get("rules", []) if r["field"] == "shipping_country"]

    with _client(cfg, tmp_path, token=WRITE) as client:
        assert client.post("/api/v1/ingest/s3-notifications", json=s3_event(key, etag), headers=auth).status_code == 200
        first = breaches()
        assert first, "no DQ_BREACH for the aggregate rule"
        assert max(r["count"] for r in first) == 6
        assert all(r["breached"] for r in first)
        again = client.post("/api/v1/ingest/s3-notifications", content=eventbridge(key, etag), headers=auth)
        assert again.json()["evidence"] == 0


def test_a_redelivered_object_counts_once_in_its_window(tmp_path: Path) -> None:
    """The same object's evidence and counts ingested twice: the window closes with 6 bad rows, not 12."""
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.model.records import RawRecord
    from signal_factory.runtime.replay import ReplayService
    from signal_factory.stores.memory import MemoryStore

    cp = load_control_plane(with_country_rule(_config(tmp_path)))
    enforcer = build_enforcer(cp)
    records = [RawRecord(topic="raw.orders.events", partition=0, offset=i, timestamp_ms=1_705_312_682_000 + i,
                         value_obj=order_payload(order_id=f"ORD-2024-0115-{i:05d}", shipping_country="FR"))
               for i in range(6)]
    batch = enforcer.process(records, sample=False)
    assert batch.quality
    service = ReplayService(cp, MemoryStore(), enforcer)
    assert service.ingest_evidence(batch.evidence, quality=batch.quality).new_evidence == 6
    assert service.ingest_evidence(batch.evidence, quality=batch.quality).new_evidence == 0
    closed = service.flush_windows().signals
    rules = [r for s in closed if s.signal_type == "DQ_BREACH" for r in (s.details or {}).get("rules", [])
             if r["field"] == "shipping_country"]
    assert rules
    assert {r["count"] for r in rules} == {6}
