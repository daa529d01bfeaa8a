"""Airflow events (the shape the signal-factory-airflow plugin posts) at the real API server over Scenario 1:
DAG -> Task -> Dataset in the graph, states keyed by dag_run_id, the OpenLineage join, freshness from a
successful run, and a failed task reading a breached dataset in the RCA blast radius as FAILED."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import httpx
import msgspec

from signal_factory.graph.model import Edge
from signal_factory.rca.render import to_markdown
from signal_factory.rca.report import RCAReport
from signal_factory.stores.sql.database import open_store

DAG, RUN = "finance_daily_snapshot", "scheduled__2024-01-15T10:00:00+00:00"
SILVER = "urn:dp:orders:silver"


def _task(state: str, task: str = "load_snapshot", *, at: str = "2024-01-15T10:31:02Z", attempt: int = 1,
          **more: Any) -> dict[str, Any]:
    event = {"kind": "task_instance", "state": state, "at": at, "dag_id": DAG, "dag_run_id": RUN, "task_id": task,
             "try_number": attempt, "start_date": "2024-01-15T10:30:21Z", "operator": "PythonOperator",
             "inlets": [{"uri": "delta://unity-catalog/sales.orders_silver"}],
             "outlets": [{"uri": "s3://finance/snapshots/daily", "name": "daily snapshot"}], "source": "listener"}
    if state != "running":
        event.update(end_date=at, duration_s=41.0)
    event.update(more)
    return event


def _post(url: str, token: str, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/airflow/events", json=events, headers={"Authorization": f"Bearer {token}"},
                      timeout=30)


def test_task_events_build_dag_task_dataset_graph(api_server_token: tuple[str, str], tmp_path: Path) -> None:
    """A task's events give DAG -[HAS_TASK]-> task, DAGRun -[EXECUTED]-> task run, inlet/outlet edges and FEEDS."""
    url, token = api_server_token
    answer = _post(url, token, [_task("running"), _task("failed", error="ValueError: totals do not balance")])
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["state"] for r in results] == ["running", "failed"]
    run_id = f"airflow:{DAG}:{RUN}:load_snapshot"
    assert results[1]["run_id"] == run_id
    assert results[1]["datasets"] == ["ol:s3://finance/snapshots/daily", SILVER]
    store = open_store(f"sqlite:///{tmp_path / 'scenario1.db'}")
    try:
        graph = store.graph
        task = graph.node(f"Job:airflow/{DAG}.load_snapshot")
        assert task is not None
        assert (task.props["last_state"], task.props["last_try"], task.props["last_error"]) == (
            "FAILED", 1, "ValueError: totals do not balance")
        run = graph.node(f"JobRun:{run_id}")
        assert run is not None
        assert (run.props["state"], run.props["duration_s"], run.props["dag_run_id"]) == ("FAILED", 41.0, RUN)
        edges = list(graph.iter_edges())
        want = [(f"Job:airflow/{DAG}", "HAS_TASK", f"Job:airflow/{DAG}.load_snapshot"),
                (f"DAGRun:{RUN}", "EXECUTED", f"JobRun:{run_id}"),
                (f"Job:airflow/{DAG}.load_snapshot", "READ_FROM", f"Dataset:{SILVER}"),
                (f"JobRun:{run_id}", "WROTE_TO", "Dataset:ol:s3://finance/snapshots/daily")]
        have = {(e.src, e.type, e.dst) for e in edges}
        assert all(w in have for w in want), [w for w in want if w not in have]
        feeds = [e for e in edges if e.type == "FEEDS" and e.src == f"Dataset:{SILVER}"
                 and e.dst == "Dataset:ol:s3://finance/snapshots/daily"]
        assert feeds == [Edge(f"Dataset:{SILVER}", "FEEDS", "Dataset:ol:s3://finance/snapshots/daily",
                              {"type": "BATCH", "job": f"{DAG}.load_snapshot"})]
    finally:
        store.close()


def test_duplicates_count_once_and_older_events_leave_the_state(api_server_token: tuple[str, str]) -> None:
    """Listener + callback reporting the same (try, state) is one event; a late `running` does not undo `failed`;
    a retry's success supersedes the first try's failure."""
    url, token = api_server_token
    first = _post(url, token, [_task("failed"), _task("failed", source="callback"),
                               _task("running", at="2024-01-15T10:30:22Z")]).json()["results"]
    assert [(r["duplicate"], r["stale"]) for r in first] == [(False, False), (True, False), (False, True)]
    assert _post(url, token, [_task("failed", error="ValueError: late detail")]).json()["results"][0]["duplicate"]
    [failed] = httpx.get(f"{url}/api/v1/airflow/runs/{RUN}", timeout=30).json()["tasks"]
    assert (failed["state"], failed["error"]) == ("FAILED", "ValueError: late detail")  # the duplicate filled it in
    retry = _post(url, token, [_task("success", at="2024-01-15T10:40:00Z", attempt=2)]).json()["results"][0]
    assert (retry["duplicate"], retry["stale"]) == (False, False)
    view = httpx.get(f"{url}/api/v1/airflow/runs/{RUN}", timeout=30).json()
    [task] = view["tasks"]
    assert (task["state"], task["try_number"], task.get("error")) == ("SUCCESS", 2, None)


def test_failed_dag_reading_the_breached_dataset_is_in_the_blast_radius(api_server_token: tuple[str, str]) -> None:
    """INC-1 (customer_id missing on orders.created): a DAG whose failed task reads silver shows as FAILED."""
    url, token = api_server_token
    before = httpx.get(f"{url}/api/v1/rca/incidents/INC-1", timeout=30).json()
    assert all(b["type"] != "Airflow DAG" for b in before["blast_radius"])
    assert _post(url, token, [_task("failed", error="ValueError: totals do not balance")]).status_code == 200
    report = httpx.get(f"{url}/api/v1/rca/incidents/INC-1", timeout=30).json()
    rows = {b["name"]: b for b in report["blast_radius"]}
    dag = rows[DAG]
    assert (dag["type"], dag["status"], dag["via"], dag["job"]) == ("Airflow DAG", "FAILED", "READ_FROM",
                                                                    f"{DAG}.load_snapshot")
    assert dag["hops"] == rows["sales.orders_silver"]["hops"] + 1
    assert dag["impact"].startswith(
        "task load_snapshot failed at 2024-01-15T10:31:02Z (try 1): ValueError: totals do not balance; reads ")
    markdown = to_markdown(msgspec.json.decode(msgspec.json.encode(report), type=RCAReport))
    assert f"| {DAG} - FAILED | `airflow/{DAG}` | Airflow DAG |" in markdown


def test_openlineage_run_of_the_same_dag_run_id_joins(api_server_token: tuple[str, str]) -> None:
    """A Spark OpenLineage run whose parent facet names the dag_run_id is listed with the DAG run's tasks."""
    url, token = api_server_token
    headers = {"Authorization": f"Bearer {token}"}
    ol = {"eventType": "START", "eventTime": "2024-01-15T10:30:30Z", "producer": "tests",
          "run": {"runId": "spark-snapshot-1", "facets": {"parent": {
              "job": {"namespace": "airflow", "name": DAG}, "run": {"runId": RUN}}}},
          "job": {"namespace": "spark", "name": "snapshot_build"}, "inputs": [], "outputs": []}
    assert httpx.post(f"{url}/api/v1/lineage", json=ol, headers=headers, timeout=30).status_code == 200
    assert _post(url, token, [_task("running"),
                              {"kind": "dag_run", "state": "running", "at": "2024-01-15T10:30:00Z", "dag_id": DAG,
                               "dag_run_id": RUN, "run_type": "scheduled"}]).status_code == 200
    view = httpx.get(f"{url}/api/v1/airflow/runs/{RUN}", timeout=30).json()
    assert (view["dag_run"]["dag_id"], view["dag_run"]["state"]) == (DAG, "RUNNING")
    assert [t["task_id"] for t in view["tasks"]] == ["load_snapshot"]
    assert [(r["run_id"], r["state"]) for r in view["openlineage_runs"]] == [("spark-snapshot-1", "START")]


def test_successful_run_is_the_outlet_datasets_freshness(api_server_token: tuple[str, str]) -> None:
    """A task that writes gold daily (freshness SLO 1d) and succeeds counts as a fresh write of it."""
    url, token = api_server_token
    gold = "urn:dp:orders:gold_daily"
    late = _task("success", task="build_gold", at="2024-01-20T02:00:00Z", outlets=[{"uri": gold}])
    result = _post(url, token, [late]).json()["results"][0]
    assert gold in result["datasets"]
    signals = httpx.get(f"{url}/api/v1/signals", params={"dataset": gold, "limit": 50}, timeout=30).json()
    fresh = [s for s in (signals if isinstance(signals, list) else signals.get("signals", []))
             if s["signal_type"] == "FRESHNESS_BREACH" and s["dataset_urn"] == gold]
    assert fresh, "the successful run gave gold daily a freshness signal"
    assert fresh[0]["metrics"]["last_event_at"].startswith("2024-01-20T02:00:00")


def test_writes_need_the_token_and_bad_events_are_named(api_server_token: tuple[str, str]) -> None:
    """401 without the bearer token; 413 over the body limit (gzip too); 422 naming the item and field for an
    event without dag_run_id or task_id."""
    url, token = api_server_token
    assert httpx.post(f"{url}/api/v1/airflow/events", json=[_task("running")], timeout=30).status_code == 401
    big = _post(url, token, [_task("running", error="x" * 200)] * 400)  # the fixture's limit is 64,000 bytes
    assert big.status_code == 413
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    assert httpx.post(f"{url}/api/v1/airflow/events", content=bomb, timeout=30,
                      headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip",
                               "Content-Type": "application/json"}).status_code == 413
    bad = _post(url, token, [_task("running"), {k: v for k, v in _task("running").items() if k != "dag_run_id"}])
    assert bad.status_code == 422
    assert "item 1" in bad.json()["detail"]
    assert "dag_run_id" in bad.json()["detail"]
    no_task = _post(url, token, [{k: v for k, v in _task("running").items() if k != "task_id"}])
    assert no_task.status_code == 422
    assert "task_id" in no_task.json()["detail"]


def test_late_event_of_an_older_dag_run_leaves_the_tasks_last_run(api_server_token: tuple[str, str]) -> None:
    """Yesterday's run reporting success late does not hide today's failure from the blast radius."""
    url, token = api_server_token
    assert _post(url, token, [_task("failed", error="ValueError: today")]).status_code == 200
    older = _task("success", at="2024-01-14T10:31:00Z", dag_run_id="scheduled__2024-01-14T10:00:00+00:00")
    assert _post(url, token, [older]).json()["results"][0]["stale"] is False  # its own run takes the state
    report = httpx.get(f"{url}/api/v1/rca/incidents/INC-1", timeout=30).json()
    dag = next(b for b in report["blast_radius"] if b["name"] == DAG)
    assert dag["status"] == "FAILED"
    assert "ValueError: today" in dag["impact"]
