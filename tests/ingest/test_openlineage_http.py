"""RunEvents emitted with the official OpenLineage client (HttpTransport, API-key auth) at the real API
server: lineage, run state and signals land in the store; malformed events get a 4xx with a reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attr
import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    column_lineage_dataset,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from signal_factory.graph.model import Edge
from signal_factory.stores.sql.database import open_store

PRODUCER = "https://github.com/signal-factory/tests"
BRONZE = InputDataset(namespace="s3://data-lake-prod", name="bronze/orders/2024-01-14/")
SILVER_NS, SILVER = "delta://unity-catalog", "sales.orders_silver"
T0 = datetime(2024, 1, 15, 2, 0, 5, tzinfo=UTC)
SUMMARY = {"records_processed": 45230, "records_passed": 44850, "records_failed": 380,
           "failure_signatures": [{"reason_code": "UNKNOWN_ENUM:discount_type:FLASH_SALE", "count": 380}]}


@attr.define
class ObservabilityEvidenceRunFacet(RunFacet):
    """Scenario 2 Step 5's facet (`observability_evidence` with `summary`)."""

    summary: dict[str, Any]
    evidence_topic: str = "signal_factory.evidence"


@attr.define
class ObservabilityRunFacet(RunFacet):
    """Seed 2.2's older form (`observability` with `evidence_summary`)."""

    evidence_summary: dict[str, Any]


@pytest.fixture
def server(api_server_token: tuple[str, str], tmp_path: Path) -> tuple[str, str, Path]:
    base, token = api_server_token
    return base, token, tmp_path / "scenario1.db"


@pytest.fixture
def client(server: tuple[str, str, Path]) -> OpenLineageClient:
    base, token, _ = server
    config = HttpConfig(url=base, auth=ApiKeyTokenProvider({"apiKey": token}), timeout=30)
    return OpenLineageClient(transport=HttpTransport(config))


@pytest.fixture
def http(server: tuple[str, str, Path]) -> Iterator[httpx.Client]:
    base, token, _ = server
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def _edges(db: Path) -> dict[tuple[str, str, str], Edge]:
    with open_store(f"sqlite:///{db}") as store:
        return {(e.src, e.type, e.dst): e for e in store.graph.iter_edges()}


def _silver(*, rows: int | None = None, fields: list[tuple[str, str]] | None = None,
            lineage: bool = False) -> OutputDataset:
    facets: dict[str, Any] = {}
    if fields is not None:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in fields])
    if lineage:
        facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            "discount_type": column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(BRONZE.namespace, BRONZE.name, "discount_type")],
                transformationDescription="Direct passthrough with enum validation")})
    stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
    output_facets: dict[str, Any] = {"outputStatistics": stats} if rows is not None else {}
    return OutputDataset(namespace=SILVER_NS, name=SILVER, facets=facets, outputFacets=output_facets)


def _event(state: RunState, run_id: str, at: datetime, *, run_facets: dict[str, Any] | None = None,
           job: tuple[str, str] = ("spark", "orders_silver_transform"), processing: str = "BATCH",
           inputs: list[InputDataset] | None = None, outputs: list[OutputDataset] | None = None) -> RunEvent:
    job_type = job_type_job.JobTypeJobFacet(processingType=processing, integration="SPARK", jobType="TASK")
    job_facets: dict[str, Any] = {"jobType": job_type}
    return RunEvent(eventType=state, eventTime=at.isoformat(), producer=PRODUCER,
                    run=Run(runId=run_id, facets=run_facets or {}), job=Job(*job, facets=job_facets),
                    inputs=inputs if inputs is not None else [BRONZE],
                    outputs=outputs if outputs is not None else [_silver()])


def _parent(dag_run: str) -> dict[str, Any]:
    return {"parent": parent_run.ParentRunFacet(run=parent_run.Run(runId=dag_run),
                                                job=parent_run.Job(namespace="airflow", name="orders_daily_agg"))}


def _dq(http: httpx.Client) -> list[dict[str, Any]]:
    r = http.get("/api/v1/signals", params={"dataset": "urn:dp:orders:silver", "type": "DQ_BREACH"})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_scenario2_start_and_complete_via_the_client(client: OpenLineageClient, http: httpx.Client,
                                                     server: tuple[str, str, Path]) -> None:
    """START + COMPLETE with the observability facet: DQ_BREACH OK at 0.9916, bronze->silver lineage, the
    DAGRun EXECUTED the JobRun, column lineage kept, and the run's state and history readable."""
    run_id, dag_run = str(uuid.uuid4()), str(uuid.uuid4())
    client.emit(_event(RunState.START, run_id, T0, run_facets=_parent(dag_run)))
    client.emit(_event(RunState.COMPLETE, run_id, T0 + timedelta(minutes=8, seconds=40), outputs=[
        _silver(rows=44850, lineage=True)], run_facets={**_parent(dag_run), "observability_evidence":
                                                        ObservabilityEvidenceRunFacet(summary=SUMMARY)}))
    dq = [s for s in _dq(http) if (s.get("batch_context") or {}).get("spark_run_id") == run_id]
    assert [(s["state"], s["metrics"]["compliance_rate"]) for s in dq] == [("OK", 0.9916)]
    assert dq[0]["batch_context"]["dag_run_id"] == dag_run
    edges = _edges(server[2])
    assert edges[("Dataset:urn:dp:orders:bronze", "FEEDS", "Dataset:urn:dp:orders:silver")].props["type"] == "BATCH"
    assert (f"DAGRun:{dag_run}", "EXECUTED", f"JobRun:{run_id}") in edges
    assert (f"JobRun:{run_id}", "READ_FROM", "Dataset:urn:dp:orders:bronze") in edges
    wrote = edges[(f"JobRun:{run_id}", "WROTE_TO", "Dataset:urn:dp:orders:silver")]
    assert wrote.props["column_lineage"][0]["inputFields"][0]["field"] == "discount_type"
    run = http.get(f"/api/v1/lineage/runs/{run_id}").json()
    assert run["state"] == "COMPLETE"
    assert [e["event_type"] for e in run["events"]] == ["START", "COMPLETE"]
    assert run["totals"]["output_rows"] == 44850
    assert http.get("/api/v1/lineage/runs/no-such-run").status_code == 404


def test_the_older_observability_facet_name_is_accepted(client: OpenLineageClient, http: httpx.Client) -> None:
    """`observability.evidence_summary` (seed 2.2) feeds DQ_BREACH like `observability_evidence.summary`."""
    run_id = str(uuid.uuid4())
    client.emit(_event(RunState.START, run_id, T0))
    client.emit(_event(RunState.COMPLETE, run_id, T0 + timedelta(minutes=5), run_facets={
        "observability": ObservabilityRunFacet(evidence_summary=SUMMARY)}))
    dq = [s for s in _dq(http) if (s.get("batch_context") or {}).get("spark_run_id") == run_id]
    assert [(s["state"], s["metrics"]["records_failed"]) for s in dq] == [("OK", 380)]


def test_a_streaming_job_with_only_start_and_running_has_lineage(client: OpenLineageClient, http: httpx.Client,
                                                                 server: tuple[str, str, Path]) -> None:
    """A streaming job never completes; its START/RUNNING events alone put it in the graph (FEEDS STREAM)."""
    run_id = str(uuid.uuid4())
    kafka = [InputDataset(namespace="kafka://msk-prod", name="raw.orders.events")]
    bronze = [OutputDataset(namespace="s3://data-lake-prod", name="bronze/orders/2024-01-15/")]
    for i, state in enumerate((RunState.START, RunState.RUNNING)):
        client.emit(_event(state, run_id, T0 + timedelta(minutes=i), job=("streaming", "orders-kafka-to-bronze"),
                           processing="STREAMING", inputs=kafka, outputs=bronze))
    edges = _edges(server[2])
    assert edges[("Dataset:urn:dp:orders:created", "FEEDS", "Dataset:urn:dp:orders:bronze")].props["type"] == "STREAM"
    assert (f"JobRun:{run_id}", "WROTE_TO", "Dataset:urn:dp:orders:bronze") in edges
    assert http.get(f"/api/v1/lineage/runs/{run_id}").json()["state"] == "RUNNING"


def test_a_schema_change_between_runs_is_recorded(client: OpenLineageClient, http: httpx.Client) -> None:
    """The output's schema facet differs from the previous run's: fields added/removed are recorded."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    client.emit(_event(RunState.COMPLETE, first, T0, outputs=[_silver(fields=[("order_id", "STRING"),
                                                                               ("discount_type", "STRING")])]))
    client.emit(_event(RunState.COMPLETE, second, T0 + timedelta(days=1), outputs=[
        _silver(fields=[("order_id", "STRING"), ("discount_code", "STRING")])]))
    changes = http.get(f"/api/v1/lineage/runs/{second}").json()["schema_changes"]
    assert [(c["dataset"], c["added"], c["removed"], c["previous_run_id"]) for c in changes] == [
        ("urn:dp:orders:silver", ["discount_code"], ["discount_type"], first)]
    node = http.get("/api/v1/graph/nodes/Dataset:urn:dp:orders:silver")
    assert node.status_code == 200
    assert "discount_code" in node.text


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"{oops", 400, "not JSON"),
    (b'{"eventType": "START", "eventTime": "2024-01-15T02:00:05Z", "run": {}, "job": {"namespace": "a", "name": "b"}}',
     422, "runId"),
    (b'{"eventType": "START", "eventTime": "2024-01-15T02:00:05Z", "run": {"runId": "r1"}}', 422, "job"),
])
def test_malformed_events_get_a_4xx_with_a_reason(http: httpx.Client, body: bytes, status: int, reason: str) -> None:
    """Bad JSON -> 400, a JSON object that is not a RunEvent -> 422; the detail names the problem."""
    r = http.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert reason in r.json()["detail"]
    assert http.get("/api/v1/health").status_code == 200


def test_writes_need_the_token(server: tuple[str, str, Path]) -> None:
    """Like every write, POST /api/v1/lineage without the bearer token is a 401."""
    r = httpx.post(f"{server[0]}/api/v1/lineage", json={}, timeout=10)
    assert r.status_code == 401
