"""Airflow listener hooks (pluggy). Each hook names only the arguments it reads, so the same functions
fit Airflow 2 (which also passes `session`) and Airflow 3. Every hook is wrapped: reporting never raises
into Airflow."""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl

from signal_factory_airflow import events, sender, settings


def _send(make: Any, *args: Any, **kwargs: Any) -> None:
    try:
        config = settings.load()
        if config.endpoint:
            sender.post_events(config, [make(*args, **kwargs)])
    except Exception as e:
        sender.log.warning("signal-factory: listener could not report (%s: %s)", type(e).__name__, e)


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    _send(events.task_event, task_instance, events.RUNNING)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _send(events.task_event, task_instance, events.SUCCESS)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _send(events.task_event, task_instance, events.FAILED, error=error)


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    _send(events.dag_run_event, dag_run, events.RUNNING)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _send(events.dag_run_event, dag_run, events.SUCCESS)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _send(events.dag_run_event, dag_run, events.FAILED, msg=msg)
