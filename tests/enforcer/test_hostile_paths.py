"""Differential: the same hostile corpus through `enforce` (the CLI's service), `replay` (SQLite) and the HTTP
ingest endpoint gives the same evidence - the same ids, verdicts and reason codes - one per line."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.hostile.corpus import corpus, write
from fastapi.testclient import TestClient

from signal_factory.api.app import create_app
from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import Evidence, decode_evidence, encode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.service import EnforceService
from signal_factory.settings import Settings
from signal_factory.stores.sql import open_store
from tests.conftest import EXAMPLE

NOW = 1705312700.0
TOKEN = "hostile-token"


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/orders with PASS sampling off, so every record has its own evidence on every path."""
    cfg = tmp_path_factory.mktemp("cfg") / "orders"
    shutil.copytree(EXAMPLE, cfg)
    settings = cfg / "signal-factory.yaml"
    settings.write_text(re.sub(r"pass_sample_rates: \{[^}]*\}", "pass_sample_rates: {1: 1.0, 2: 1.0, 3: 1.0}",
                               settings.read_text()))
    return cfg


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, bytes]]]:
    """30 lines of each corpus class (300 lines), written with the one line rule's `\\n`."""
    lines = corpus(per_class=30)
    path = tmp_path_factory.mktemp("corpus") / "hostile.jsonl"
    write(path, lines)
    return path, lines


@pytest.fixture(scope="module")
def enforced(config_dir: Path, hostile: tuple[Path, list[tuple[str, bytes]]]) -> list[Evidence]:
    """What `signal-factory enforce` writes for the corpus (its service, with a fixed clock)."""
    cp = load_control_plane(config_dir)
    service = EnforceService(cp, dataclasses.replace(Settings.from_env(), home=hostile[0].parent / "home"))
    service.enforcer = Enforcer(cp, clock=lambda: NOW)
    sink = io.BytesIO()
    summary = service.enforce_files([hostile[0]], sink)
    assert summary.records == len(hostile[1])
    return [decode_evidence(line) for line in sink.getvalue().splitlines()]


def _verdict(ev: Evidence | dict[str, Any]) -> tuple[str, list[str]]:
    if isinstance(ev, Evidence):
        return ev.validation.result, ev.validation.reason_codes
    return ev["result"], ev["reason_codes"]


def test_enforce_gives_one_evidence_per_line(enforced: list[Evidence],
                                             hostile: tuple[Path, list[tuple[str, bytes]]]) -> None:
    """10 classes x 30 lines in, 300 evidence out, distinct ids."""
    assert len(enforced) == len(hostile[1]) == 300
    assert len({e.evidence_id for e in enforced}) == 300


def test_replay_stores_exactly_what_enforce_wrote(config_dir: Path, enforced: list[Evidence], tmp_path: Path,
                                                  hostile: tuple[Path, list[tuple[str, bytes]]]) -> None:
    """Replay into SQLite stores the same 300 evidence, byte for byte; a rerun stores nothing new."""
    cp = load_control_plane(config_dir)
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    for run in range(2):
        with open_store(url) as store:
            report = ReplayService(cp, store, Enforcer(cp, clock=lambda: NOW)).replay([hostile[0]], batch_size=64)
            assert report.new_evidence == (300 if run == 0 else 0)
            stored = [store.evidence.get(e.evidence_id) for e in enforced]
    assert [encode_evidence(s) if s else None for s in stored] == [encode_evidence(e) for e in enforced]


@pytest.fixture
def api(config_dir: Path, tmp_path: Path) -> Iterator[tuple[TestClient, ControlPlane]]:
    app = create_app(config_dir, f"sqlite:///{tmp_path / 'api.db'}", token=TOKEN, home=tmp_path / "home",
                     max_body_bytes=50_000_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        service.enforcer = Enforcer(service.cp, clock=lambda: NOW)  # the same fixed clock as the other paths
        yield client, service.cp


def test_http_answers_the_same_evidence_per_line(api: tuple[TestClient, ControlPlane], enforced: list[Evidence],
                                                 hostile: tuple[Path, list[tuple[str, bytes]]]) -> None:
    """POST /api/v1/records with the corpus as JSON lines: 200, one result per line, same verdicts and codes;
    same ids wherever the id does not name the input's origin (records with Kafka coordinates)."""
    client, _ = api
    r = client.post("/api/v1/records", content=hostile[0].read_bytes(),
                    headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert (body["records"], body["evidence"]) == (300, 300)
    results = body["results"]
    assert [x["where"] for x in results] == [f"line {n}" for n in range(1, 301)]
    assert [_verdict(x) for x in results] == [_verdict(e) for e in enforced]
    keyed = [(x["evidence_id"], e.evidence_id) for x, e in zip(results, enforced, strict=True)
             if e.source is not None and e.source.offset is not None]
    assert len(keyed) > 150
    assert all(a == b for a, b in keyed)


def test_http_never_answers_a_plain_text_500(api: tuple[TestClient, ControlPlane]) -> None:
    """Deep arrays, invalid UTF-8 and NUL in a body: JSON answers (per-record results or a 400 problem)."""
    client, _ = api
    auth = {"Authorization": f"Bearer {TOKEN}"}
    deep = b"[" * 5000 + b"]" * 5000
    for body in (deep, b"[" + deep + b"]", b'[{"topic":"t","value":' + b"[" * 900 + b"]" * 900 + b"}]",
                 b"\xff\xfe\n{\"topic\":\"t\\u0000\"}\n", b'{"topic":"t","ts":1e300}'):
        r = client.post("/api/v1/records", content=body, headers=auth)
        assert r.status_code in (200, 400), (body[:40], r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith(("application/json", "application/problem+json"))
        if r.status_code == 200:
            assert all(x["result"] == "FAIL" for x in r.json()["results"])
