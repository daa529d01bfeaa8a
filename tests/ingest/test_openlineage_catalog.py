"""OpenLineage parity without a server: the three event types, facets kept as received, the catalog,
data-quality facets as DQ_BREACH signals, and the Marquez views' graph and search."""

from __future__ import annotations

import copy
from typing import Any

import attr
import msgspec
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from openlineage.client import event_v2

from signal_factory.contracts.compile import compile_contract
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.ingest.openlineage import marquez as mq
from signal_factory.ingest.openlineage.catalog import catalog_repo
from signal_factory.ingest.openlineage.mapping import load_mapping
from signal_factory.ingest.openlineage.model import (
    DatasetEvent,
    JobEvent,
    OpenLineageEventError,
    RunEvent,
    event_from_obj,
    parse_body,
)
from signal_factory.ingest.openlineage.reads import LineageReader
from signal_factory.ingest.openlineage.service import LineageIngest
from signal_factory.model.lineage import DatasetId, Facets, JobEntry
from signal_factory.rca.analyze import analyze
from signal_factory.runtime.replay import ReplayService
from signal_factory.signals.checks import checks_signal
from signal_factory.signals.model import Assertion, DatasetChecks
from signal_factory.stores.memory import MemoryStore
from tests.conftest import EXAMPLE

T0 = "2024-01-15T02:00:05.000Z"
T1 = "2024-01-15T02:08:45.000Z"
SILVER = {"namespace": "delta://unity-catalog", "name": "sales.orders_silver"}
BRONZE = {"namespace": "s3://data-lake-prod", "name": "bronze/orders/2024-01-14/"}


@pytest.fixture
def lineage() -> LineageIngest:
    cp = load_control_plane(EXAMPLE)
    return LineageIngest(ReplayService(cp, MemoryStore(), Enforcer(cp)), load_mapping(EXAMPLE))


def _run(event_type: str, at: str, run_id: str = "r-1", **extra: Any) -> dict[str, Any]:
    return {"eventType": event_type, "eventTime": at, "run": {"runId": run_id, "facets": extra.pop("run_facets", {})},
            "job": {"namespace": "spark", "name": "orders_silver_transform", "facets": extra.pop("job_facets", {})},
            "inputs": extra.pop("inputs", [BRONZE]), "outputs": extra.pop("outputs", [SILVER]), **extra}


@pytest.mark.parametrize(("ours", "theirs"), [(RunEvent, event_v2.RunEvent), (DatasetEvent, event_v2.DatasetEvent),
                                              (JobEvent, event_v2.JobEvent)])
def test_event_fields_mirror_the_reference_client(ours: type[msgspec.Struct], theirs: type[Any]) -> None:
    """Each event type has the fields openlineage-python's event_v2 model gives it, required where it is."""
    fields = {f.name: f for f in attr.fields(theirs)}
    assert set(fields) == set(ours.__struct_fields__)
    required = {n for n, f in fields.items() if f.default is attr.NOTHING and f.init}
    ours_required = set(ours.__struct_fields__[:len(ours.__struct_fields__) - len(ours.__struct_defaults__)])
    assert required - {"producer"} == ours_required


@pytest.mark.parametrize(("doc", "kind"), [
    (_run("START", T0), RunEvent),
    ({"eventTime": T0, "dataset": {**SILVER, "facets": {}}}, DatasetEvent),
    ({"eventTime": T0, "job": {"namespace": "spark", "name": "j"}, "inputs": [BRONZE]}, JobEvent),
])
def test_each_event_type_is_told_apart_by_its_keys(doc: dict[str, Any], kind: type[Any]) -> None:
    """A body with `run` is a RunEvent, with `dataset` a DatasetEvent, with `job` and no `run` a JobEvent."""
    assert type(parse_body(msgspec.json.encode([doc]))[0]) is kind


@pytest.mark.parametrize(("doc", "message"), [
    ({"eventTime": T0, "dataset": {"namespace": "a"}}, "DatasetEvent: Object missing required field `name`"),
    ({"eventTime": T0, "job": {"namespace": "a", "name": " "}}, "`job.name` is empty"),
    ({"eventTime": "yesterday", "dataset": {"namespace": "a", "name": "b"}}, "not an ISO-8601 time"),
])
def test_malformed_static_events_name_the_problem(doc: dict[str, Any], message: str) -> None:
    """A DatasetEvent/JobEvent missing what identifies it is a 422 whose reason names the field."""
    with pytest.raises(OpenLineageEventError, match=message) as info:
        event_from_obj(doc)
    assert info.value.status == 422


def test_a_run_event_without_event_type_is_other() -> None:
    """The spec makes a RunEvent's eventType optional: without one it is OTHER (changes no state)."""
    doc = _run("START", T0)
    del doc["eventType"]
    event = event_from_obj(doc)
    assert isinstance(event, RunEvent)
    assert event.eventType == "OTHER"


def test_facets_merge_by_event_time_and_delete() -> None:
    """A facet is replaced only by one at least as new; `_deleted: true` removes it."""
    f = Facets()
    f.merge({"owner": {"v": 2}, "doc": {"v": 2}}, 200)
    f.merge({"owner": {"v": 1}}, 100)  # older: ignored
    f.merge({"doc": {"_deleted": True}}, 300)
    assert f.facets == {"owner": {"v": 2}}


def test_every_facet_is_kept_as_received(lineage: LineageIngest) -> None:
    """Run, job, dataset, input and output facets, custom ones included, are readable back."""
    custom = {"_producer": "https://x", "_schemaURL": "https://x#/C", "anything": [1, {"deep": "yes"}]}
    lineage.ingest(event_from_obj(_run(
        "COMPLETE", T1, run_facets={"vendor": custom}, job_facets={"vendorJob": custom},
        inputs=[{**BRONZE, "facets": {"vendorDs": custom}, "inputFacets": {"vendorIn": custom}}],
        outputs=[{**SILVER, "outputFacets": {"vendorOut": custom}}])))
    reader = LineageReader(lineage.replay.store)
    run = reader.run("r-1")
    assert run is not None
    assert run["facets"]["vendor"] == custom
    assert run["job_facets"]["vendorJob"] == custom
    assert run["input_versions"][0]["facets"]["vendorIn"] == custom
    assert run["output_versions"][0]["facets"]["vendorOut"] == custom
    bronze = reader.dataset(BRONZE["namespace"], BRONZE["name"])
    assert bronze is not None
    assert (bronze["facets"]["vendorDs"], bronze["inputFacets"]["vendorIn"]) == (custom, custom)
    job = reader.job("spark", "orders_silver_transform")
    assert job is not None
    assert job["facets"]["vendorJob"] == custom
    silver = reader.dataset(SILVER["namespace"], SILVER["name"])
    assert silver is not None
    assert silver["lastModifiedAt"] == T1


def test_pii_in_custom_facets_is_not_kept(lineage: LineageIngest) -> None:
    """The guard reaches custom facets of every event type: no PII value and no PII key name is stored."""
    leak = {"contact": "jane.doe@example.com", "jane.roe@example.com": "owner"}
    lineage.ingest(event_from_obj({"eventTime": T0, "dataset": {**SILVER, "facets": {"vendor": leak}}}))
    lineage.ingest(event_from_obj({"eventTime": T0, "job": {"namespace": "spark", "name": "j", "facets": {"v": leak}}}))
    reader = LineageReader(lineage.replay.store)
    text = msgspec.json.encode([reader.dataset(SILVER["namespace"], SILVER["name"]), reader.job("spark", "j")])
    assert b"example.com" not in text
    assert b"vendor" in text  # the facet itself is kept, its values guarded


def test_a_failed_run_shows_its_error_message(lineage: LineageIngest) -> None:
    """FAIL with the errorMessage facet: the run view carries it and Marquez's state is FAILED."""
    error = {"message": "Job aborted: stage 3 failed", "programmingLanguage": "JAVA", "stackTrace": "at X.y(X.java:1)"}
    lineage.ingest(event_from_obj(_run("START", T0)))
    lineage.ingest(event_from_obj(_run("FAIL", T1, run_facets={"errorMessage": error})))
    reader = LineageReader(lineage.replay.store)
    run = reader.run("r-1")
    assert run is not None
    assert (run["state"], run["error"]["message"], run["marquez_state"]) == ("FAIL", error["message"], "FAILED")
    marquez = reader.marquez_run("r-1")
    assert marquez is not None
    assert (marquez["state"], marquez["durationMs"]) == ("FAILED", 520_000)


def test_job_and_dataset_events_enter_catalog_and_graph(lineage: LineageIngest) -> None:
    """A JobEvent declares its inputs/outputs (FEEDS in the graph); a DatasetEvent gives a dataset its schema."""
    schema = {"fields": [{"name": "order_id", "type": "STRING"}]}
    first = lineage.ingest(event_from_obj({"eventTime": T0, "dataset": {**SILVER, "facets": {"schema": schema}}}))
    again = lineage.ingest(event_from_obj({"eventTime": T0, "dataset": {**SILVER, "facets": {"schema": schema}}}))
    lineage.ingest(event_from_obj({"eventTime": T0, "job": {"namespace": "dbt", "name": "gold",
                                                             "facets": {"jobType": {"processingType": "BATCH"}}},
                                   "inputs": [SILVER], "outputs": [{"namespace": "delta://unity-catalog",
                                                                    "name": "sales.orders_gold_daily"}]}))
    assert (first.kind, first.dataset, first.duplicate, again.duplicate) == (
        "DatasetEvent", "urn:dp:orders:silver", False, True)
    store = lineage.replay.store
    edges = {(e.src, e.type, e.dst): e.props for e in store.graph.iter_edges()}
    assert edges[("Dataset:urn:dp:orders:silver", "FEEDS", "Dataset:urn:dp:orders:gold_daily")]["job"] == "gold"
    node = store.graph.node("Dataset:urn:dp:orders:silver")
    assert node is not None
    assert node.props["schema_fields"] == {"order_id": "STRING"}
    job = catalog_repo(store).get_job("dbt", "gold")
    assert job is not None
    assert job.outputs == [DatasetId("delta://unity-catalog", "sales.orders_gold_daily")]


def test_failed_assertions_are_a_dq_breach_naming_them(lineage: LineageIngest) -> None:
    """dataQualityAssertions with a failure: a CRITICAL DQ_BREACH on that dataset naming assertion and column."""
    assertions = {"assertions": [{"assertion": "not_null", "success": False, "column": "customer_id"},
                                 {"assertion": "row_count_gt_0", "success": True}]}
    metrics = {"rowCount": 45230, "bytes": 1024, "columnMetrics": {"customer_id": {"nullCount": 380}}}
    result = lineage.ingest(event_from_obj(_run("COMPLETE", T1, inputs=[{
        **SILVER, "inputFacets": {"dataQualityAssertions": assertions, "dataQualityMetrics": metrics}}])))
    store = lineage.replay.store
    signals = [store.signals.get(s) for s in result.signals]
    checks = [s for s in signals if s is not None and (s.details or {}).get("source") == "openlineage"]
    assert [(s.signal_type, s.dataset_urn, s.state) for s in checks] == [("DQ_BREACH", "urn:dp:orders:silver",
                                                                          "CRITICAL")]
    assert [t.signature for t in checks[0].top_failures] == ["ASSERTION_FAILED:customer_id:not_null"]
    assert (checks[0].metrics["assertions_failed"], checks[0].metrics["row_count"]) == (1, 45230)
    silver = LineageReader(store).dataset(SILVER["namespace"], SILVER["name"])
    assert silver is not None
    assert silver["inputFacets"]["dataQualityMetrics"]["columnMetrics"]["customer_id"]["nullCount"] == 380
    report = analyze(store, signature="ASSERTION_FAILED:customer_id:not_null", dataset="urn:dp:orders:silver")
    assert [r.run_id for r in report.affected_runs] == ["r-1"]  # RCA finds the run that reported it


CONTRACT = """
apiVersion: v3.1.0
kind: DataContract
id: dc:test
name: t
version: 1.0.0
status: active
schema:
  - name: orders
    quality: [{metric: rowCount, mustBeGreaterThan: 1000}]
    properties:
      - name: customer_id
        logicalType: string
        quality: [{metric: nullValues, mustBeLessThan: 1, unit: percent, severity: warning}]
"""


@pytest.mark.parametrize(("rows", "nulls", "state", "failed"), [
    (5000, 10, "OK", []),
    (5000, 100, "WARNING", ["QUALITY_NULL_VALUES:customer_id"]),
    (10, 0, "CRITICAL", ["QUALITY_ROW_COUNT:$"]),
])
def test_metrics_judge_the_contract_aggregate_rules(rows: int, nulls: int, state: str, failed: list[str]) -> None:
    """rowCount and a column's nullValues (percent of rowCount) from dataQualityMetrics against the contract."""
    raw = yaml.safe_load(CONTRACT)
    contract = compile_contract(OpenDataContractStandard.model_validate(raw), raw=raw)
    checks = DatasetChecks(dataset_urn="urn:x", run_id="r", job_name="j", started_at=T0, ended_at=T1,
                           metrics={"rowCount": rows, "columnMetrics": {"customer_id": {"nullCount": nulls}}})
    signal = checks_signal(checks, contract.aggregates)
    assert signal is not None
    assert (signal.state, [t.signature for t in signal.top_failures]) == (state, failed)
    assert checks_signal(DatasetChecks(dataset_urn="urn:x", run_id="r", job_name="j", started_at=T0, ended_at=T1,
                                       metrics={"bytes": 3}), contract.aggregates) is None


@pytest.mark.parametrize(("assertions", "state"), [
    ([Assertion("unique", True, "id")], "OK"),
    ([Assertion("unique", False, "id", "warn"), Assertion("fresh", True)], "WARNING"),
    ([Assertion("unique", False, "id", "warn"), Assertion("fresh", False, None, "error")], "CRITICAL"),
])
def test_assertion_outcomes_and_severity_set_the_state(assertions: list[Assertion], state: str) -> None:
    """All passing: OK (how an open incident sees the dataset recover); a failed `warn` one: WARNING; else CRITICAL."""
    checks = DatasetChecks(dataset_urn="urn:x", run_id="r", job_name="j", started_at=T0, ended_at=T1,
                           assertions=assertions)
    signal = checks_signal(checks)
    assert signal is not None
    assert signal.state == state
    assert len(signal.top_failures) == sum(not a.success for a in assertions)


def _job(name: str, ins: list[str], outs: list[str]) -> JobEntry:
    return JobEntry(namespace="ns", name=name, created_at=T0, updated_at=T0, updated_ms=0,
                    inputs=[DatasetId("ns", i) for i in ins], outputs=[DatasetId("ns", o) for o in outs])


@pytest.mark.parametrize(("start", "depth", "expected"), [
    ("dataset:ns:b", 0, ["dataset:ns:b"]),
    ("dataset:ns:b", 1, ["dataset:ns:a", "dataset:ns:b", "dataset:ns:c", "job:ns:j1", "job:ns:j2"]),
    ("job:ns:j1", 1, ["dataset:ns:a", "dataset:ns:b", "dataset:ns:c", "job:ns:j1", "job:ns:j2"]),
    ("job:ns:j1", 0, ["dataset:ns:a", "dataset:ns:b", "job:ns:j1"]),
    ("dataset:ns:a", 5, ["dataset:ns:a", "dataset:ns:b", "dataset:ns:c", "dataset:ns:d", "job:ns:j1", "job:ns:j2",
                         "job:ns:j3"]),
])
def test_lineage_graph_depth_counts_job_hops(start: str, depth: int, expected: list[str]) -> None:
    """a -j1-> b -j2-> c -j3-> d: depth N reaches jobs N hops away both ways, and their datasets."""
    jobs = [_job("j1", ["a"], ["b"]), _job("j2", ["b"], ["c"]), _job("j3", ["c"], ["d"])]
    graph = mq.lineage(start, depth, jobs, {}, lambda _: None)["graph"]
    assert [n["id"] for n in graph] == expected
    by_id = {n["id"]: n for n in graph}
    if "job:ns:j1" in by_id and "dataset:ns:b" in by_id:
        assert {"origin": "job:ns:j1", "destination": "dataset:ns:b"} in by_id["dataset:ns:b"]["inEdges"]


def test_node_ids_with_colons_in_the_namespace() -> None:
    """`dataset:s3://bucket:path` splits at the known namespace, not the first colon."""
    assert mq.split_node_id("dataset:s3://lake:bronze/x", ["s3://lake", "s3"]) == ("dataset", "s3://lake", "bronze/x")
    assert mq.split_node_id("job:airflow:dag.task", []) == ("job", "airflow", "dag.task")
    assert mq.split_node_id("run:abc", ["x"]) is None


def test_search_is_case_insensitive_with_like_wildcards() -> None:
    """`q` matches anywhere in the name, case-insensitive; `%` any run, `_` one character."""
    jobs = [_job("orders_silver_transform", [], []), _job("payments", [], [])]
    names = [r["name"] for r in mq.search("SILVER", jobs, [])["results"]]
    assert names == ["orders_silver_transform"]
    assert [r["name"] for r in mq.search("pay%s", jobs, [])["results"]] == ["payments"]
    assert mq.search("p_yments", jobs, [], filter_="dataset")["totalCount"] == 0


def test_facet_copy_does_not_alias_the_store(lineage: LineageIngest) -> None:
    """Entries read from the memory catalog are copies: editing one changes nothing until put back."""
    lineage.ingest(event_from_obj(_run("START", T0)))
    repo = catalog_repo(lineage.replay.store)
    job = repo.get_job("spark", "orders_silver_transform")
    assert job is not None
    job.facets.facets["x"] = copy.deepcopy({"y": 1})
    again = repo.get_job("spark", "orders_silver_transform")
    assert again is not None
    assert "x" not in again.facets.facets
