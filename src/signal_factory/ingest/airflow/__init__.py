"""Airflow inflow: task instance and DAG run events posted by the `signal-factory-airflow` plugin or its
task callbacks (`POST /api/v1/airflow/events`): run state keyed by `dag_run_id`, DAG -> Task -> Dataset."""
