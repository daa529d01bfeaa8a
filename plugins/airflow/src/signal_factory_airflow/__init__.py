"""Report Airflow DAG runs and task instances to Signal Factory.

Two ways in, both posting to `<url>/api/v1/airflow/events`:
- the plugin (entry point `airflow.plugins`): listener hooks for every DAG run and task instance, no DAG change;
- task callbacks for one DAG: `default_args={"on_failure_callback": on_failure, "on_success_callback": on_success}`.

Configure with `SIGNAL_FACTORY_URL` and `SIGNAL_FACTORY_API_TOKEN` (or `[signal_factory] url`, `token` in
airflow.cfg). Nothing here imports Airflow at import time, and nothing here ever fails a task.
"""

from signal_factory_airflow.callbacks import on_failure, on_success, reporting_callback

__all__ = ["on_failure", "on_success", "reporting_callback"]
__version__ = "0.1.0"
