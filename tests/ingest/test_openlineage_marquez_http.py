"""OpenLineage parity at the real server: the official client (HttpTransport) emits each event type the
spec defines; Marquez's own Python client (marquez-python) and plain HTTP read them back through the
Marquez-compatible endpoints, whose response shapes are compared with Marquez's (tests/data)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from marquez_client import MarquezClient
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    DatasetFacet,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from signal_factory.stores.sql.database import open_store
from tests.conftest import ROOT

PRODUCER = "https://github.com/signal-factory/tests"
SHAPES = json.loads((ROOT / "tests" / "data" / "marquez_shapes.json").read_text())
BRONZE_NS, BRONZE = "s3://data-lake-prod", "bronze/orders/2024-01-14/"
SILVER_NS, SILVER = "delta://unity-catalog", "sales.orders_silver"
JOB_NS, JOB = "spark", "orders_silver_transform"
T0 = datetime(2024, 1, 15, 2, 0, 5, tzinfo=UTC)


def assert_shape(ours: Any, theirs: Any, where: str = "$") -> None:
    """Every field Marquez answers is in ours with the same JSON type (null in Marquez's: any)."""
    if theirs is None:
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        missing = sorted(set(theirs) - set(ours))
        assert not missing, f"{where}: Marquez's fields {missing} are missing"
        for key, value in theirs.items():
            if ours[key] is not None:
                assert_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: expected an array, got {ours!r}"
        for item in ours if theirs else []:  # a graph node against Marquez's node of the same type
            like = [t for t in theirs if isinstance(t, dict) and isinstance(item, dict)
                    and t.get("type") == item.get("type")]
            assert_shape(item, (like or theirs)[0], f"{where}[]")
    else:
        kind = (int, float) if isinstance(theirs, int | float) and not isinstance(theirs, bool) else type(theirs)
        assert isinstance(ours, kind), f"{where}: expected {type(theirs).__name__}, got {ours!r}"
        assert isinstance(ours, bool) == isinstance(theirs, bool), f"{where}: expected {theirs!r}'s type, got {ours!r}"


class VendorFacet(DatasetFacet):
    """A custom dataset facet with fields of our own."""


@pytest.fixture
def server(api_server_token: tuple[str, str], tmp_path: Path) -> tuple[str, str, Path]:
    base, token = api_server_token
    return base, token, tmp_path / "scenario1.db"


@pytest.fixture
def emitted(server: tuple[str, str, Path]) -> dict[str, str]:
    """One DatasetEvent, one JobEvent, a completed run with DQ facets on its input and a failed run."""
    base, token, _ = server
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(
        url=base, auth=ApiKeyTokenProvider({"apiKey": token}), timeout=30)))
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="order_id",
                                                                                              type="STRING")])
    vendor = VendorFacet().with_additional_properties(steward="data-platform", tier=1)
    client.emit(DatasetEvent(eventTime=T0.isoformat(), producer=PRODUCER, dataset=StaticDataset(
        namespace=SILVER_NS, name=SILVER, facets={
            "schema": schema, "vendor": vendor,
            "documentation": documentation_dataset.DocumentationDatasetFacet(description="Orders, cleaned")})))
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType="JOB"),
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
            type="git", url="https://git.example.org/jobs/orders_silver.py")}
    client.emit(JobEvent(eventTime=T0.isoformat(), producer=PRODUCER, job=Job(JOB_NS, JOB, facets=job_facets),
                         inputs=[InputDataset(BRONZE_NS, BRONZE)], outputs=[OutputDataset(SILVER_NS, SILVER)]))
    ok, failed = str(uuid.uuid4()), str(uuid.uuid4())
    dq = {"dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=[
              data_quality_assertions_dataset.Assertion(assertion="not_null", success=False, column="customer_id"),
              data_quality_assertions_dataset.Assertion(assertion="row_count_gt_0", success=True)]),
          "dataQualityMetrics": data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
              rowCount=45230, bytes=9_000_000, columnMetrics={
                  "customer_id": data_quality_metrics_input_dataset.ColumnMetrics(nullCount=380, distinctCount=9)})}
    bronze = InputDataset(BRONZE_NS, BRONZE, inputFacets=dq)
    for state, at in ((RunState.START, T0), (RunState.COMPLETE, T0 + timedelta(minutes=8))):
        client.emit(RunEvent(eventType=state, eventTime=at.isoformat(), producer=PRODUCER, run=Run(ok),
                             job=Job(JOB_NS, JOB, facets=job_facets), inputs=[bronze],
                             outputs=[OutputDataset(SILVER_NS, SILVER, facets={"schema": schema})]))
    error = error_message_run.ErrorMessageRunFacet(message="Job aborted: stage 3 failed", programmingLanguage="JAVA",
                                                   stackTrace="org.apache.spark.SparkException: stage 3")
    day2 = T0 + timedelta(days=1)
    client.emit(RunEvent(eventType=RunState.START, eventTime=day2.isoformat(), producer=PRODUCER, run=Run(failed),
                         job=Job(JOB_NS, JOB), inputs=[InputDataset(BRONZE_NS, BRONZE)]))
    client.emit(RunEvent(eventType=RunState.FAIL, eventTime=(day2 + timedelta(minutes=2)).isoformat(),
                         producer=PRODUCER, run=Run(failed, facets={"errorMessage": error}), job=Job(JOB_NS, JOB)))
    return {"ok": ok, "failed": failed}


@pytest.fixture
def marquez(server: tuple[str, str, Path]) -> MarquezClient:
    return MarquezClient(url=server[0])


@pytest.fixture
def http(server: tuple[str, str, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], timeout=30) as c:
        yield c


def test_each_event_type_reads_back_through_marquez_client(emitted: dict[str, str], marquez: MarquezClient) -> None:
    """DatasetEvent, JobEvent and RunEvents from the official client are read back by marquez-python, in
    Marquez's shapes: namespaces, jobs, a job, its runs, a run, datasets, a dataset."""
    names = [n["name"] for n in marquez.list_namespaces()["namespaces"]]
    assert {JOB_NS, BRONZE_NS, SILVER_NS} <= set(names)
    assert_shape(marquez.list_namespaces(), SHAPES["namespaces"])
    assert_shape(marquez.get_namespace(SILVER_NS), SHAPES["namespace"])
    jobs = marquez.list_jobs(JOB_NS)
    assert_shape(jobs, SHAPES["jobs"])
    job = marquez.get_job(JOB_NS, JOB)
    assert_shape(job, SHAPES["job"])
    assert (job["type"], job["location"]) == ("BATCH", "https://git.example.org/jobs/orders_silver.py")
    assert (job["inputs"], job["outputs"]) == ([{"namespace": BRONZE_NS, "name": BRONZE}],
                                               [{"namespace": SILVER_NS, "name": SILVER}])
    assert job["latestRun"]["id"] == emitted["failed"]
    runs = marquez.list_job_runs(JOB_NS, JOB)
    assert_shape(runs, SHAPES["runs"])
    assert [(r["id"], r["state"]) for r in runs["runs"]] == [(emitted["failed"], "FAILED"),
                                                             (emitted["ok"], "COMPLETED")]
    done = marquez.get_job_run(emitted["ok"])
    assert_shape(done, SHAPES["run"])
    assert done["durationMs"] == 8 * 60 * 1000
    assert done["inputDatasetVersions"][0]["facets"]["dataQualityMetrics"]["rowCount"] == 45230
    datasets = marquez.list_datasets(SILVER_NS)
    assert_shape(datasets, SHAPES["datasets"])
    silver = marquez.get_dataset(SILVER_NS, SILVER)
    assert_shape(silver, SHAPES["dataset"])
    assert (silver["fields"][0]["name"], silver["description"]) == ("order_id", "Orders, cleaned")
    assert silver["facets"]["vendor"]["steward"] == "data-platform"  # a custom facet, as received
    bronze = marquez.get_dataset(BRONZE_NS, BRONZE)  # `/` and `:` in the names, percent-encoded by the client
    assert bronze["inputFacets"]["dataQualityMetrics"]["columnMetrics"]["customer_id"]["nullCount"] == 380


def test_a_failed_run_shows_its_error_message(emitted: dict[str, str], http: httpx.Client,
                                              marquez: MarquezClient) -> None:
    """FAIL with errorMessage: our run view names the error; Marquez's run has it in its facets."""
    ours = http.get(f"/api/v1/lineage/runs/{emitted['failed']}").json()
    assert (ours["state"], ours["error"]["message"]) == ("FAIL", "Job aborted: stage 3 failed")
    theirs = marquez.get_job_run(emitted["failed"])
    assert (theirs["state"], theirs["facets"]["errorMessage"]["programmingLanguage"]) == ("FAILED", "JAVA")
    facets = http.get(f"/api/v1/jobs/runs/{emitted['failed']}/facets", params={"type": "run"}).json()
    assert_shape(facets, SHAPES["run_facets"])
    assert "errorMessage" in facets["facets"]


def test_lineage_by_node_id_and_search(emitted: dict[str, str], http: httpx.Client) -> None:
    """`/api/v1/lineage?nodeId=` gives Marquez's graph; `/api/v1/search` finds jobs and datasets by name."""
    r = http.get("/api/v1/lineage", params={"nodeId": f"dataset:{SILVER_NS}:{SILVER}", "depth": 1})
    assert r.status_code == 200, r.text
    graph = r.json()
    assert_shape(graph, SHAPES["lineage"])
    ids = {n["id"]: n for n in graph["graph"]}
    assert set(ids) == {f"dataset:{SILVER_NS}:{SILVER}", f"dataset:{BRONZE_NS}:{BRONZE}", f"job:{JOB_NS}:{JOB}"}
    assert ids[f"job:{JOB_NS}:{JOB}"]["outEdges"] == [{"origin": f"job:{JOB_NS}:{JOB}",
                                                       "destination": f"dataset:{SILVER_NS}:{SILVER}"}]
    assert http.get("/api/v1/lineage", params={"nodeId": "dataset:nope:nothing"}).status_code == 404
    found = http.get("/api/v1/search", params={"q": "orders"}).json()
    assert_shape(found, SHAPES["search"])
    assert {(x["type"], x["name"]) for x in found["results"]} >= {("JOB", JOB), ("DATASET", SILVER)}
    only_jobs = http.get("/api/v1/search", params={"q": "ORDERS", "filter": "job"}).json()
    assert {x["type"] for x in only_jobs["results"]} == {"JOB"}


def test_failed_assertions_raise_a_dq_breach(emitted: dict[str, str], http: httpx.Client,
                                             server: tuple[str, str, Path]) -> None:
    """The input's failed `not_null` assertion on customer_id is a CRITICAL DQ_BREACH naming it, on bronze."""
    r = http.get("/api/v1/signals", params={"dataset": "urn:dp:orders:bronze", "type": "DQ_BREACH"})
    mine = [s for s in r.json() if (s.get("batch_context") or {}).get("run_id") == emitted["ok"]]
    assert [(s["state"], [t["signature"] for t in s["top_failures"]]) for s in mine] == [
        ("CRITICAL", ["ASSERTION_FAILED:customer_id:not_null"])]
    with open_store(f"sqlite:///{server[2]}") as store:  # our own dataset view stays ours at /api/v1/datasets
        assert store.signals.get(mine[0]["signal_id"]) is not None
    assert http.get("/api/v1/datasets/urn:dp:orders:bronze").status_code == 200
