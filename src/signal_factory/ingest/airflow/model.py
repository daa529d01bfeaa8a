"""Airflow events as received from the `signal-factory-airflow` plugin (plugins/airflow): one JSON object
per DAG run or task instance state change.

    {"kind": "task_instance", "state": "failed", "at": "2026-01-15T10:31:02Z", "dag_id": "finance_daily_snapshot",
     "dag_run_id": "scheduled__2026-01-15T10:00:00+00:00", "task_id": "load_snapshot", "try_number": 2,
     "start_date": "...", "end_date": "...", "duration_s": 41.2, "inlets": [{"uri": "urn:dp:orders:silver"}],
     "outlets": [{"uri": "s3://finance/snapshots/daily"}], "error": "ValueError: ..."}

Strict on what the graph keys on (`kind`, `state`, `dag_id`, `dag_run_id`, `at`, and `task_id` for a task
instance); unknown keys are ignored. Every producer-controlled string is guarded (`safe_text`): an
exception message naming an email or a card number is stored as its stand-in, never as the value.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from signal_factory.errors import SignalFactoryError
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.privacy.guard import safe_text

TASK_INSTANCE = "task_instance"
DAG_RUN = "dag_run"
RUNNING, SUCCESS, FAILED = "running", "success", "failed"
STATES = (RUNNING, SUCCESS, FAILED)
TERMINAL = (SUCCESS, FAILED)
ERROR_CHARS = 300


class AirflowEventError(SignalFactoryError):
    """A body item that is not an Airflow event; the message says which field and what was expected."""


class AssetRef(msgspec.Struct, frozen=True, omit_defaults=True):
    uri: str
    name: str | None = None


class AirflowEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    kind: Literal["task_instance", "dag_run"]
    state: Literal["running", "success", "failed"]
    at: str
    dag_id: str
    dag_run_id: str
    task_id: str | None = None
    map_index: int = -1
    try_number: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    duration_s: float | None = None
    operator: str | None = None
    run_type: str | None = None
    logical_date: str | None = None
    inlets: list[AssetRef] = msgspec.field(default_factory=list)
    outlets: list[AssetRef] = msgspec.field(default_factory=list)
    error: str | None = None
    source: str | None = None  # "listener" or "callback"

    @property
    def at_ms(self) -> int:
        ms = parse_iso_ms(self.at)
        assert ms is not None  # checked by `parse_event`
        return ms


def _guard(event: AirflowEvent) -> AirflowEvent:
    def g(text: str | None) -> str | None:
        return safe_text(text) if text is not None else None

    return msgspec.structs.replace(
        event, dag_id=safe_text(event.dag_id), dag_run_id=safe_text(event.dag_run_id), task_id=g(event.task_id),
        operator=g(event.operator), run_type=g(event.run_type), source=g(event.source),
        error=g(event.error[:ERROR_CHARS]) if event.error else None,
        inlets=[AssetRef(safe_text(a.uri), g(a.name)) for a in event.inlets],
        outlets=[AssetRef(safe_text(a.uri), g(a.name)) for a in event.outlets])


def parse_event(doc: bytes, where: str) -> AirflowEvent:
    """One event from its JSON bytes, guarded; `AirflowEventError` naming `where` and the field if unusable."""
    try:
        event = msgspec.json.decode(doc, type=AirflowEvent)
    except msgspec.ValidationError as e:
        raise AirflowEventError(f"{where} is not an Airflow event: {e} (send what the signal-factory-airflow "
                                "plugin sends: kind, state, at, dag_id, dag_run_id, task_id ...)") from e
    except msgspec.DecodeError as e:
        raise AirflowEventError(f"{where} is not JSON: {e}") from e
    if event.kind == TASK_INSTANCE and not event.task_id:
        raise AirflowEventError(f"{where}: a task_instance event needs `task_id`")
    for name in ("at", "start_date", "end_date"):
        value = getattr(event, name)
        if value is not None and parse_iso_ms(value) is None:
            raise AirflowEventError(f"{where}: `{name}` must be an ISO-8601 time like 2026-01-15T10:31:02Z, "
                                    f"got {safe_text(value)!r}")
    if not event.dag_id.strip() or not event.dag_run_id.strip():
        raise AirflowEventError(f"{where}: `dag_id` and `dag_run_id` must not be empty")
    return _guard(event)


def as_doc(event: AirflowEvent) -> dict[str, Any]:
    return msgspec.to_builtins(event)
