"""One record path: `enforce`, `replay`, the HTTP ingest, the S3 ingester and `run enforcer` (Kafka) build their
enforcer with `build_enforcer`, so the same records - one whose schema lives only in the schema registry among
them - get the same verdicts, reason codes and gate results on all five."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import signal_factory
from signal_factory.api.app import create_app
from signal_factory.cli.main import app as cli
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.ingest.s3 import S3ObjectIngester
from signal_factory.model.evidence import Evidence, decode_evidence
from signal_factory.service import EnforceService
from signal_factory.settings import Settings
from signal_factory.stores.sql import open_store
from tests.ingest.test_s3_objects import s3_endpoint  # noqa: F401 - the moto server fixture
from tests.registry.conftest import FakeRegistry, registry_server  # noqa: F401 - the registry fixture
from tests.transports.conftest import drain, kafka_cluster

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.slow

TOPIC = "payments"
EVIDENCE_TOPIC = "sf.test.evidence.onepath"
URN = "urn:dp:payments:captured"
TOKEN = "onepath-token"
SCHEMA = {"type": "object", "required": ["payment_id", "amount"],
          "properties": {"payment_id": {"type": "string"}, "amount": {"type": "number"}}}
#: What each record must get on every path: the first two are checked against the registry's schema only.
PAYLOADS = [({"payment_id": "p1", "amount": 3.5}, "PASS", []),
            ({"payment_id": "p2"}, "FAIL", ["MISSING_FIELD:amount"]),
            ({"payment_id": "p3", "amount": "lots"}, "FAIL", None),
            ({"payment_id": "p4", "note": "x" * 300}, "FAIL", ["MISSING_FIELD:amount"])]  # payload past the inline cap


def _config(root: Path, registry_url: str) -> Path:
    root.mkdir(parents=True)
    (root / "signal-factory.yaml").write_text(
        f"schema_registry: {{url: '{registry_url}', timeout_s: 2.0}}\n"
        "evidence: {pass_sample_rates: {1: 1.0, 2: 1.0, 3: 1.0}, payload: failures, max_inline_payload_bytes: 200}\n")
    (root / "datasets.yaml").write_text(
        f"datasets:\n  - {{urn: '{URN}', tier: 1, owner: payments, schema: 'confluent:payments-value:latest'}}\n")
    (root / "topics.yaml").write_text(f"topics:\n  - {{topic: {TOPIC}, dataset: '{URN}', producer: payments-svc}}\n")
    (root / "s3.yaml").write_text(
        f"objects:\n  - {{location: 's3://onepath/payments/', dataset: '{URN}', producer: payments-svc}}\n")
    return root


def _lines(now_ms: int) -> bytes:
    """The records as kcat -J lines at the offsets a fresh one-partition topic gives them."""
    return b"".join(json.dumps({"topic": TOPIC, "partition": 0, "offset": i, "ts": now_ms + i, "key": f"k{i}",
                                "payload": json.dumps(p)}).encode() + b"\n" for i, (p, _, _) in enumerate(PAYLOADS))


def _view(ev: Evidence) -> tuple[str, list[str], list[tuple[str, str]]]:
    """Verdict, reason codes and the content gates' results (G3-G5: what the record itself decides)."""
    gates = [(g.gate, g.result) for g in ev.validation.gates if g.gate in ("G3_SCHEMA", "G4_CONTRACT", "G5_PII")]
    return ev.validation.result, ev.validation.reason_codes, gates


@pytest.fixture
def setup(tmp_path: Path, registry_server: FakeRegistry,  # noqa: F811 - the imported fixture
          monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, bytes]:
    """A config whose only dataset's schema is in the registry, SIGNAL_FACTORY_HOME in tmp, the records file."""
    registry_server.add("payments-value", json.dumps(SCHEMA), "JSON")
    monkeypatch.setenv("SIGNAL_FACTORY_HOME", str(tmp_path / "home"))
    lines = _lines(int(time.time() * 1000) - 60_000)
    (tmp_path / "records.jsonl").write_bytes(lines)
    return _config(tmp_path / "cfg", registry_server.url), tmp_path / "records.jsonl", lines


def _enforce(cfg: Path, records: Path) -> list[Evidence]:
    service = EnforceService(load_control_plane(cfg), Settings.from_env())
    sink = io.BytesIO()
    service.enforce_files([records], sink)
    return [decode_evidence(line) for line in sink.getvalue().splitlines()]


def _replay(cfg: Path, records: Path, tmp: Path, ids: list[str]) -> list[Evidence | None]:
    url = f"sqlite:///{tmp / 'replay.db'}"
    out = CliRunner().invoke(cli, ["replay", str(records), "--config", str(cfg), "--db", url, "--no-send"])
    assert out.exit_code == 0, out.output
    with open_store(url) as store:
        return [store.evidence.get(i) for i in ids]


def _http(cfg: Path, lines: bytes, tmp: Path) -> list[dict[str, Any]]:
    app = create_app(cfg, f"sqlite:///{tmp / 'api.db'}", token=TOKEN, home=tmp / "home")
    with TestClient(app) as client:
        r = client.post("/api/v1/records", content=lines,
                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text[:500]
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def _s3(cfg: Path, endpoint: str) -> list[Evidence]:
    """One object per record, one row each, routed by the config's s3.yaml, through the ingester as built by
    default (`build_enforcer`)."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="onepath")
    ingester = S3ObjectIngester(load_control_plane(cfg), None, s3)
    out = []
    for i, (payload, _, _) in enumerate(PAYLOADS):
        key = f"payments/{i}.jsonl"
        etag = str(s3.put_object(Bucket="onepath", Key=key, Body=json.dumps(payload).encode() + b"\n")["ETag"])
        note = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "eventTime": "2024-01-15T10:00:00.000Z",
                             "s3": {"bucket": {"name": "onepath"}, "object": {"key": key, "eTag": etag.strip('"')}}}]}
        out.extend(ingester.handle_notification(json.dumps(note)))
    return out


def _kafka(cfg: Path, lines: bytes) -> list[Evidence]:
    """`signal-factory run enforcer` (the CLI command) over the records produced to a fresh topic."""
    from confluent_kafka import Producer

    with kafka_cluster({TOPIC: 1, EVIDENCE_TOPIC: 1}) as bootstrap:
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        for line in lines.splitlines():
            d = json.loads(line)
            producer.produce(TOPIC, value=d["payload"].encode(), key=d["key"], partition=0, timestamp=d["ts"])
        assert producer.flush(30) == 0
        # A child process: the command installs signal handlers and takes over the package's logging.
        env = {**os.environ, "PYTHONPATH": str(Path(signal_factory.__file__).parents[1])}
        proc = subprocess.run(
            [sys.executable, "-c", "from signal_factory.cli.main import main; main()", "run", "enforcer",
             "--config", str(cfg), "--bootstrap-servers", bootstrap, "--group-id", "sf-onepath", "--topics", TOPIC,
             "--evidence-topic", EVIDENCE_TOPIC, "--exit-when-idle", "3", "-X", "session.timeout.ms=6000"],
            capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        got = [decode_evidence(m.value()) for m in drain(bootstrap, EVIDENCE_TOPIC, expect=len(PAYLOADS))]
    return sorted(got, key=lambda e: e.source.offset if e.source and e.source.offset is not None else -1)


def test_same_records_same_evidence_on_all_five_paths(
        setup: tuple[Path, Path, bytes], tmp_path: Path, s3_endpoint: str) -> None:  # noqa: F811
    """enforce, replay, POST /api/v1/records, the S3 ingester and `run enforcer` agree record by record,
    the registry-only schema is found on every one (a good record PASSes, a missing field FAILs), and a
    large payload goes to the payload store on every path that keeps payloads."""
    cfg, records, lines = setup
    enforced = _enforce(cfg, records)
    for ev, (_, result, codes) in zip(enforced, PAYLOADS, strict=True):
        assert ev.validation.result == result, ev.validation
        assert codes is None or ev.validation.reason_codes == codes
    want = [_view(e) for e in enforced]
    ids = [e.evidence_id for e in enforced]

    replayed = _replay(cfg, records, tmp_path, ids)
    assert [_view(e) if e else None for e in replayed] == want

    answered = _http(cfg, lines, tmp_path)
    assert [(x["evidence_id"], x["result"], x["reason_codes"]) for x in answered] == \
        [(i, v[0], v[1]) for i, v in zip(ids, want, strict=True)]

    through_kafka = _kafka(cfg, lines)
    assert [e.evidence_id for e in through_kafka] == ids
    assert [_view(e) for e in through_kafka] == want

    refs = [e.payload_ref for e in enforced]
    assert str(refs[-1]).startswith("sha256:")  # the payload store, not omitted:too-large
    assert [e.payload_ref if e else None for e in replayed] == [e.payload_ref for e in through_kafka] == refs

    objects = _s3(cfg, s3_endpoint)
    assert [_view(e) for e in objects] == want
    assert [e.payload_ref for e in objects] == refs  # same payload policy and store
