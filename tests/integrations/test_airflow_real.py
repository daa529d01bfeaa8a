"""Real Apache Airflow (its own virtualenv, made by scripts/ensure-airflow.sh) runs DAGs with `airflow dags test`
on SQLite, with the signal-factory-airflow plugin loaded and task callbacks set, posting to our real API server
over Scenario 1: run states keyed by dag_run_id, inlets/outlets, durations and tries land in the graph, the
failed DAG reading the breached silver table is in INC-1's blast radius as FAILED, and a server that is down
never fails a task."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOGICAL = "2024-01-15T10:00:00+00:00"

DAGS = '''
import pendulum
from airflow.sdk import Asset, dag, task
from signal_factory_airflow import on_failure, on_success

SILVER = Asset("urn:dp:orders:silver")
STAGING = Asset("s3://finance/snapshots/staging")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False,
     default_args={"on_success_callback": on_success, "on_failure_callback": on_failure, "retries": 0})
def finance_daily_snapshot():
    @task(inlets=[SILVER], outlets=[STAGING])
    def extract():
        return 1

    @task(inlets=[STAGING])
    def load_snapshot(x):
        raise ValueError("snapshot totals do not balance")

    load_snapshot(extract())


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False)
def quiet_when_down():
    @task(outlets=[Asset("s3://finance/other")])
    def work():
        return 1

    work()


finance_daily_snapshot()
quiet_when_down()
'''


@pytest.fixture(scope="module")
def airflow_venv() -> Path:
    """The cached Airflow virtualenv, with this checkout's plugin installed (the script is idempotent)."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-airflow.sh")], capture_output=True, text=True,
                          timeout=900, check=False)
    if done.returncode != 0:
        pytest.fail(f"scripts/ensure-airflow.sh failed:\n{done.stdout}\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def airflow_env(airflow_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """AIRFLOW_HOME on SQLite in a temporary folder with the test DAGs, migrated (once: it takes seconds)."""
    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / "finance.py").write_text(DAGS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AIRFLOW", "SIGNAL_FACTORY"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               PATH=f"{airflow_venv / 'bin'}:{env.get('PATH', '')}")
    _airflow(env, "db", "migrate")
    return env


def _airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=240, check=False)
    if "Traceback" in done.stdout + done.stderr and args[0] == "db":
        pytest.fail(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.mark.slow
def test_dag_run_reported_by_plugin_and_callbacks(airflow_env: dict[str, str],
                                                  api_server_token: tuple[str, str]) -> None:
    """`airflow dags test` of a DAG whose second task fails: both tasks, the DAG run and INC-1's blast radius."""
    url, token = api_server_token
    env = {**airflow_env, "SIGNAL_FACTORY_URL": url, "SIGNAL_FACTORY_API_TOKEN": token}
    done = _airflow(env, "dags", "test", "finance_daily_snapshot", LOGICAL)
    log = done.stdout + done.stderr
    assert "snapshot totals do not balance" in log, log[-3000:]
    assert "signal-factory:" not in log, "the plugin reported a delivery problem:\n" + log[-3000:]

    found = re.search(r"DagRun Finished: dag_id=finance_daily_snapshot, .*?run_id=([^,]+),", log)
    assert found is not None, log[-3000:]
    view = httpx.get(f"{url}/api/v1/airflow/runs/{found.group(1)}", timeout=30)
    assert view.status_code == 200, view.text
    run = view.json()
    assert (run["dag_run"]["dag_id"], run["dag_run"]["state"]) == ("finance_daily_snapshot", "FAILED")
    tasks = {t["task_id"]: t for t in run["tasks"]}
    assert set(tasks) == {"extract", "load_snapshot"}
    extract, load = tasks["extract"], tasks["load_snapshot"]
    assert (extract["state"], extract["try_number"]) == ("SUCCESS", 1)
    assert (extract["inputs"], extract["outputs"]) == (["urn:dp:orders:silver"], ["ol:s3://finance/snapshots/staging"])
    assert 0 < extract["duration_s"] < 120
    assert (load["state"], load["try_number"]) == ("FAILED", 1)
    assert load["error"] == "ValueError: snapshot totals do not balance"
    assert load["inputs"] == ["ol:s3://finance/snapshots/staging"]

    report = httpx.get(f"{url}/api/v1/rca/incidents/INC-1", timeout=30).json()
    dag = next(b for b in report["blast_radius"] if b["name"] == "finance_daily_snapshot")
    assert (dag["type"], dag["status"], dag["job"]) == ("Airflow DAG", "FAILED", "finance_daily_snapshot.load_snapshot")
    assert "ValueError: snapshot totals do not balance" in dag["impact"]


@pytest.mark.slow
def test_server_down_never_fails_the_task(airflow_env: dict[str, str]) -> None:
    """With nothing listening at SIGNAL_FACTORY_URL the DAG still succeeds, the plugin only logs, within its budget."""
    env = {**airflow_env, "SIGNAL_FACTORY_URL": "http://127.0.0.1:9", "SIGNAL_FACTORY_TIMEOUT": "0.5",
           "SIGNAL_FACTORY_RETRIES": "1"}
    started = time.monotonic()
    done = _airflow(env, "dags", "test", "quiet_when_down", LOGICAL)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "DagRun Finished" in log
    assert "state=success" in log, log[-3000:]
    assert "unreachable after 2 attempts; event not reported" in log, log[-3000:]
    assert time.monotonic() - started < 120
