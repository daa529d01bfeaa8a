"""Everything we write for the leak corpus, as text per output: the matrix the leak test searches.

`collect` runs the corpus the ways a user would -- the `enforce` CLI (evidence on stdout, summary on
stderr), `replay` into a SQL store, the API and UI over that store, RCA, graph export, notification
bodies -- and captures every log record on the way. The other inflows (`leak_inflows.py`) go in through
their own edges: OpenLineage events (`POST /api/v1/lineage` and `lineage ingest`, whose stderr joins the
summary output), posted evidence, S3 notifications, deployment markers (`--deployments` file and
`POST /api/v1/deployments`) and OTLP trace exports (`POST /v1/traces`, and the same service in process
for a store the API does not serve).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec
from rich.console import Console
from sqlalchemy import text

import signal_factory
from signal_factory.alerting.messages import body_for
from signal_factory.api.routes_lineage import ingest_lineage
from signal_factory.api.service import ApiService
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.graph.export import to_cypher, to_json
from signal_factory.ingest.openlineage.model import parse_run_event
from signal_factory.ingest.otlp.decode import PROTOBUF
from signal_factory.ingest.s3.ingester import S3ObjectIngester
from signal_factory.rca.analyze import analyze
from signal_factory.rca.render import render_rich, to_markdown
from signal_factory.rca.report import to_json as rca_json
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql.database import create_store_engine, open_store
from signal_factory.stores.sql.schema import metadata
from tests.api.conftest import start_server, stop_server
from tests.conftest import EXAMPLE
from tests.enforcer.leak_corpus import corpus_lines
from tests.enforcer.leak_inflows import S3_MAPPING, deployment_markers, evidence_docs, lineage_events, s3_objects
from tests.enforcer.leak_otlp import TRACE_ID, export_request

CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]
OUTPUTS = ("evidence (enforce stdout)", "enforce summary (stderr)", "database rows", "incident titles", "API JSON",
           "UI pages", "RCA text", "RCA JSON", "RCA Markdown", "graph export", "notifications", "logs")


def control_plane_dir(tmp: Path, payload: str) -> Path:
    """The example control plane with `evidence.payload` set to `payload` (none | failures | all)."""
    if payload == "none":
        return EXAMPLE
    dst = tmp / f"cp-{payload}"
    shutil.copytree(EXAMPLE, dst)
    settings = dst / "signal-factory.yaml"
    settings.write_text(settings.read_text().replace("payload: none ", f"payload: {payload} "))
    assert f"payload: {payload}" in settings.read_text()
    return dst


@contextmanager
def _captured_logs() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(args)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(docs: list[dict]) -> bytes:
    return b"".join(msgspec.json.encode(d) + b"\n" for d in docs)


def _cli(config: Path, cwd: Path, *args: str) -> tuple[str, str]:
    src = str(Path(signal_factory.__file__).resolve().parents[1])  # this checkout's code, whatever the cwd
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([*CLI, *args[:-1], "--config", str(config), args[-1]], capture_output=True,
                          timeout=300, cwd=cwd, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout.decode(), proc.stderr.decode()


def _db_rows(url: str) -> str:
    engine = create_store_engine(url)
    parts: list[str] = []
    try:
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = conn.execute(text(f"SELECT * FROM {table.name}")).all()
                parts.append(f"{table.name}: {rows!r}")
    finally:
        engine.dispose()
    return "\n".join(parts)


def _api_and_ui(db_path: Path, home: Path, config: Path, corpus: bytes) -> tuple[str, str]:
    server, thread, base = start_server(db_path, home, token="leak-token", config_dir=config)
    api: list[str] = []
    ui: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            # A second export (new span ids) through the real endpoint, before the reads that show spans.
            r = client.post("/v1/traces", content=export_request(2), headers={
                "Authorization": "Bearer leak-token", "Content-Type": PROTOBUF})
            api.append(f"POST /v1/traces {r.status_code} {r.text}")
            assert r.status_code == 200, r.text
            def get(path: str, **params: str) -> httpx.Response:
                r = client.get(path, params=params)
                api.append(f"GET {path} {r.status_code} {r.text}")
                return r

            incidents = get("/api/v1/incidents").json()
            get("/api/v1/datasets")
            get("/api/v1/signals")
            for urn in ("urn:dp:orders:created", "urn:dp:signal_factory:unresolved"):
                get(f"/api/v1/datasets/{urn}")
                for ev in get("/api/v1/evidence", dataset=urn, since="2024-01-15T00:00:00Z",
                              until="2024-01-16T00:00:00Z").json()[:50]:
                    get(f"/api/v1/evidence/{ev['evidence_id']}")
            get("/api/v1/graph/lineage")
            get(f"/api/v1/traces/{TRACE_ID}")
            # Contract incidents first (their title is the hostile signature); the drift ones repeat them.
            incidents.sort(key=lambda i: i["signal_type"] != "CONTRACT_BREACH")
            for n, inc in enumerate(incidents):
                iid = inc["incident_id"]
                get(f"/api/v1/incidents/{iid}")
                get(f"/api/v1/rca/incidents/{iid}")
                nodes = get(f"/api/v1/graph/incidents/{iid}").json().get("nodes", [])
                for node in nodes if n < 3 else []:
                    get(f"/api/v1/graph/nodes/{node['id']}")
                    if node.get("kind") == "FailureSignature":
                        get(f"/api/v1/rca/signatures/{node['key']}")
                        get("/api/v1/evidence", signature=node["key"])
                for page in ("/", "/incidents", f"/incidents/{iid}"):
                    r = client.get(page)
                    ui.append(f"GET {page} {r.status_code} {r.text}")
            auth = {"Authorization": "Bearer leak-token"}
            r = client.post("/api/v1/records", content=corpus[:60_000].rsplit(b"\n", 1)[0], headers=auth)
            api.append(f"POST /api/v1/records {r.status_code} {r.text}")
            for path, body in (("/api/v1/lineage", _lines(lineage_events())),
                               ("/api/v1/evidence", _lines(evidence_docs())),
                               ("/api/v1/deployments", _lines(deployment_markers()))):
                r = client.post(path, content=body, headers=auth)
                api.append(f"POST {path} {r.status_code} {r.text}")
                assert r.status_code == 200, r.text
            run_id = parse_run_event(msgspec.json.encode(lineage_events()[0])).run_id  # as stored: guarded
            get(f"/api/v1/lineage/runs/{run_id}")
            _marquez_reads(get)
    finally:
        stop_server(server, thread)
    return "\n".join(api), "\n".join(ui)


def _marquez_reads(get: Callable[..., httpx.Response]) -> None:
    """Marquez's read API over what the lineage events left: every namespace, job, run and dataset."""
    get("/api/v1/search", q="%", limit="10000")
    for ns in get("/api/v1/namespaces").json()["namespaces"]:
        enc = quote(ns["name"], safe="")
        for job in get(f"/api/v1/namespaces/{enc}/jobs").json()["jobs"]:
            get(f"/api/v1/namespaces/{enc}/jobs/{quote(job['name'], safe='')}/runs")
            get("/api/v1/lineage", nodeId=f"job:{ns['name']}:{job['name']}")
        get(f"/api/v1/namespaces/{enc}/datasets")


def collect(tmp: Path, db_url: str, *, payload: str = "none", cli: bool = True, api: bool = True) -> dict[str, str]:
    """Output name -> all its text, for the corpus replayed into `db_url` (API only for a SQLite file)."""
    config = control_plane_dir(tmp, payload)
    corpus_file = tmp / "leak-corpus.jsonl"
    corpus = corpus_lines(payload_copies=payload != "none")
    corpus_file.write_bytes(corpus)
    markers_file = tmp / "leak-deployments.jsonl"
    markers_file.write_bytes(_lines(deployment_markers()))
    lineage_file = tmp / "leak-lineage.jsonl"
    lineage_file.write_bytes(_lines(lineage_events()))
    out: dict[str, str] = dict.fromkeys(OUTPUTS, "")
    with _captured_logs() as logs:
        if cli:
            out["evidence (enforce stdout)"], out["enforce summary (stderr)"] = _cli(
                config, tmp, "enforce", str(corpus_file))
        cp = load_control_plane(config)
        store = open_store(db_url)
        try:
            replay = ReplayService(cp, store, Enforcer(cp))
            replay.replay([corpus_file], deployments=[markers_file])
            service = ApiService(cp, store)  # the HTTP routes' service: the same edges, in process
            ingest_lineage(service, lineage_file.read_bytes())
            service.ingest_evidence(_lines(evidence_docs()))
            s3, notes = s3_objects()
            ingester = S3ObjectIngester(cp, S3_MAPPING, s3)
            for note in notes:
                replay.ingest_evidence(ingester.handle_notification(note))
            service.ingest_traces(export_request(1), PROTOBUF)
            incidents = store.incidents.list()
            rca_text, rca_js, rca_md, notes = [], [], [], []
            for inc in incidents:
                reports = [analyze(store, incident_id=inc.incident_id)]
                if ":" in inc.failure_signature:  # a reason code; a signal type keys a dataset-wide incident
                    reports.append(analyze(store, signature=inc.failure_signature, dataset=inc.dataset_urn))
                for report in reports:
                    console = Console(record=True, width=200, file=io.StringIO())
                    console.print(render_rich(report))
                    rca_text.append(console.export_text())
                    rca_js.append(rca_json(report).decode())
                    rca_md.append(to_markdown(report))
                for channel in ("pagerduty", "slack", "webhook"):
                    notes.append(msgspec.json.encode(body_for(channel, inc, "trigger")).decode())
            out["RCA text"], out["RCA JSON"], out["RCA Markdown"] = map("\n".join, (rca_text, rca_js, rca_md))
            out["notifications"] = "\n".join(notes)
            out["graph export"] = msgspec.json.encode(to_json(store.graph)).decode() + "\n".join(
                to_cypher(store.graph))
            out["incident titles"] = "\n".join(inc.title for inc in incidents)
        finally:
            store.close()
        if cli:  # after the store is closed; every event is already stored, so it reports and skips them
            out["enforce summary (stderr)"] += "\n".join(_cli(config, tmp, "lineage", "ingest", "--db", db_url,
                                                               str(lineage_file)))
        out["database rows"] = _db_rows(db_url)
        if api and db_url.startswith("sqlite:///"):
            out["API JSON"], out["UI pages"] = _api_and_ui(Path(db_url.removeprefix("sqlite:///")), tmp / "home",
                                                           config, corpus)
    out["logs"] = logs.getvalue()
    return out
