"""Event documents from Airflow objects, read by attribute name only (`dag_id`, `run_id`, `task_id`,
`try_number`, `task.inlets` ...), so one code path serves Airflow 2 TaskInstance, Airflow 3
RuntimeTaskInstance, DagRun, and the callback context. The shape is what `POST /api/v1/airflow/events`
takes (one JSON object per event)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
ERROR_CHARS = 300  # an exception message is cut: it is a hint for the RCA, not a log


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value) if value else None


def now_iso() -> str:
    return _iso(datetime.now(UTC)) or ""


def _asset(item: Any) -> dict[str, str] | None:
    """An inlet/outlet: Airflow 3 Asset, Airflow 2 Dataset (`uri`), lineage File (`url`), Table, or a string."""
    if isinstance(item, str):
        return {"uri": item}
    uri = getattr(item, "uri", None) or getattr(item, "url", None)
    if not uri and hasattr(item, "database") and hasattr(item, "name"):  # airflow.lineage.entities.Table
        uri = f"{getattr(item, 'cluster', '') or 'table'}://{item.database}/{item.name}"
    if not uri:
        return None
    out = {"uri": str(uri)}
    name = getattr(item, "name", None)
    if isinstance(name, str) and name and name != uri:
        out["name"] = name
    return out


def _assets(items: Any) -> list[dict[str, str]]:
    out = []
    for item in list(items or []):
        found = _asset(item)
        if found is not None and found not in out:
            out.append(found)
    return out


def _error_text(error: Any) -> str | None:
    if error is None:
        return None
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    first = text.strip().splitlines()[0] if text.strip() else text
    return first[:ERROR_CHARS]


def task_event(ti: Any, state: str, *, error: Any = None, source: str = "listener") -> dict[str, Any]:
    task = getattr(ti, "task", None)
    start = getattr(ti, "start_date", None)
    end = getattr(ti, "end_date", None)
    if end is None and state != RUNNING:
        end = datetime.now(UTC)
    duration = getattr(ti, "duration", None)
    if duration is None and isinstance(start, datetime) and isinstance(end, datetime):
        aware = (start if start.tzinfo else start.replace(tzinfo=UTC),
                 end if end.tzinfo else end.replace(tzinfo=UTC))
        duration = max(0.0, (aware[1] - aware[0]).total_seconds())
    dag_run = getattr(ti, "dag_run", None)
    event: dict[str, Any] = {
        "kind": "task_instance", "state": state, "at": now_iso(), "source": source,
        "dag_id": getattr(ti, "dag_id", None), "dag_run_id": getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None), "map_index": getattr(ti, "map_index", -1),
        "try_number": getattr(ti, "try_number", None),
        "start_date": _iso(start), "end_date": _iso(end) if state != RUNNING else None,
        "duration_s": float(duration) if isinstance(duration, (int, float)) and state != RUNNING else None,
        "operator": getattr(task, "task_type", None) or getattr(ti, "operator", None),
        "inlets": _assets(getattr(task, "inlets", None)),
        "outlets": _assets(getattr(task, "outlets", None)),
        "logical_date": _iso(getattr(dag_run, "logical_date", None) or getattr(ti, "logical_date", None)),
    }
    if state == FAILED:
        event["error"] = _error_text(error)
    return {k: v for k, v in event.items() if v is not None}


def dag_run_event(dag_run: Any, state: str, *, msg: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "dag_run", "state": state, "at": now_iso(), "source": "listener",
        "dag_id": getattr(dag_run, "dag_id", None), "dag_run_id": getattr(dag_run, "run_id", None),
        "run_type": str(getattr(dag_run, "run_type", "") or "") or None,
        "start_date": _iso(getattr(dag_run, "start_date", None)),
        "end_date": _iso(getattr(dag_run, "end_date", None)) if state != RUNNING else None,
        "logical_date": _iso(getattr(dag_run, "logical_date", None) or getattr(dag_run, "execution_date", None)),
    }
    if state == FAILED and msg:
        event["error"] = str(msg)[:ERROR_CHARS]
    return {k: v for k, v in event.items() if v is not None}
