"""The Airflow plugin (entry point `airflow.plugins` -> `signal_factory`): registers the listener."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from signal_factory_airflow import listener


class SignalFactoryPlugin(AirflowPlugin):
    name = "signal_factory"
    listeners = [listener]
