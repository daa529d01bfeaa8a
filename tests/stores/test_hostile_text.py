"""NUL and lone surrogates never reach a store: replay of hostile text stores the same evidence on SQLite and
PostgreSQL (which rejects `\\u0000` in text and jsonb), and the rerun does not fail."""

from __future__ import annotations

import json
from pathlib import Path

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import FAIL, Evidence, GateResult, Producer, Source, Validation, encode_evidence
from signal_factory.runtime.replay import ReplayService, load_records
from signal_factory.stores.sql import open_store
from tests.conftest import envelope, order_payload, without_sampling

T0 = 1705312682127
HEADERS = ["x-obs-producer-service", "orders-svc", "x-obs-producer-version", "v3.17",
           "x-obs-schema-id", "glue:orders.created:17"]


def _line(offset: int, **changes: object) -> bytes:
    doc = {"topic": "raw.orders.events", "partition": 0, "offset": offset, "ts": T0 + offset * 1000,
           "headers": HEADERS, "key": f"ORD-{offset}", "payload": json.dumps(envelope(order_payload()))}
    doc.update(changes)
    return json.dumps(doc).encode()


def hostile_file(tmp_path: Path) -> Path:
    lines = [
        _line(1, topic="raw.orders.events\u0000"),
        _line(2, headers=[*HEADERS, "x-\u0000", "v\u0000"]),
        _line(3, headers=["x-obs-producer-service", "orders\u0000svc", "x-obs-producer-version", "v\u00003.18"]),
        _line(4, headers=["x-obs-schema-id", "glue:orders.created:17\u0000"]),
        _line(5, key="ORD\u0000"),
        _line(6, payload=json.dumps(envelope(order_payload(currency="U\u0000D")))),
        _line(7, payload=json.dumps(envelope({**order_payload(customer_id=None), "extra\u0000key": "x\u0000"}))),
        _line(8, payload=json.dumps(envelope(order_payload(), producer_service="svc\u0000"))),
        _line(9, ts=1e300),
        b'{"topic":"raw.orders.events\\u0000","value":' + b"[" * 2000 + b"]" * 2000 + b"}",
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_hostile_text_replays_into_sqlite_and_postgres_alike(sql_url: str, control_plane: ControlPlane,
                                                             tmp_path: Path) -> None:
    """Every record is stored once, exactly as the enforcer made it (U+FFFD for NUL), and a rerun adds nothing."""
    cp = without_sampling(control_plane)
    path = hostile_file(tmp_path)
    records, _ = load_records([path])
    expected = Enforcer(cp, clock=lambda: 1705312700.0).process(records).evidence
    assert len(expected) == 10
    assert all(b"\\u0000" not in encode_evidence(e) for e in expected)
    for _ in range(2):  # the rerun must neither fail nor add anything
        with open_store(sql_url) as store:
            report = ReplayService(cp, store, Enforcer(cp, clock=lambda: 1705312700.0)).replay([path], batch_size=4)
            assert report.records == 10
            stored = [store.evidence.get(e.evidence_id) for e in expected]
            assert [encode_evidence(s) if s else None for s in stored] == [encode_evidence(e) for e in expected]
    assert report.skipped == 10


def test_evidence_made_elsewhere_is_made_storable(sql_url: str, control_plane: ControlPlane) -> None:
    """Evidence posted by another producer (e.g. a Spark job) with NUL in its strings is stored with U+FFFD."""
    ev = Evidence(evidence_id="evd-01HQX7YMKP3QR5ST6VW8XYZ123", timestamp="2024-01-15T09:58:02.127Z",
                  dataset_urn="urn:dp:orders:created", producer=Producer("spark\u0000job", "HIGH"),
                  validation=Validation(FAIL, [GateResult("G4_CONTRACT", FAIL, "MISSING_FIELD:a\u0000")],
                                        ["G4_CONTRACT"], ["MISSING_FIELD:a\u0000"]),
                  source=Source(topic="t\u0000", timestamp="2024-01-15T09:58:02.127Z"))
    with open_store(sql_url) as store:
        ReplayService(control_plane, store, Enforcer(control_plane)).ingest_evidence([ev])
        got = store.evidence.get(ev.evidence_id)
    assert got is not None
    assert got.validation.reason_codes == ["MISSING_FIELD:a\ufffd"]
    assert got.producer is not None
    assert got.producer.id == "spark\ufffdjob"
