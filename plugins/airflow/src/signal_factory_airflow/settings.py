"""Where to report: environment first (`SIGNAL_FACTORY_URL`, `SIGNAL_FACTORY_API_TOKEN`, `SIGNAL_FACTORY_TIMEOUT`,
`SIGNAL_FACTORY_RETRIES`), then airflow.cfg section `[signal_factory]` (`url`, `token`, `timeout`, `retries`,
also as `AIRFLOW__SIGNAL_FACTORY__URL` ...), then defaults. No URL: reporting is off."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_RETRIES = 2
EVENTS_PATH = "/api/v1/airflow/events"


@dataclass(frozen=True)
class Settings:
    url: str | None
    token: str | None = field(default=None, repr=False)  # never printed
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    @property
    def endpoint(self) -> str | None:
        return self.url.rstrip("/") + EVENTS_PATH if self.url else None


def _airflow_conf(key: str) -> str | None:
    try:  # Airflow may be absent (unit tests) or its config unreadable: both mean "not set"
        from airflow.configuration import conf  # noqa: PLC0415  (optional, and heavy: only when asked)

        value = conf.get("signal_factory", key, fallback=None)
    except Exception:
        return None
    return str(value) if value else None


def _get(key: str) -> str | None:
    return os.environ.get(f"SIGNAL_FACTORY_{key.upper()}") or _airflow_conf(key)


def _number(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


def load(url: str | None = None, token: str | None = None) -> Settings:
    """Arguments win over the environment, which wins over airflow.cfg."""
    return Settings(
        url=url or _get("url"),
        token=token or os.environ.get("SIGNAL_FACTORY_API_TOKEN") or _airflow_conf("token"),
        timeout_s=max(0.1, _number(_get("timeout"), DEFAULT_TIMEOUT_S)),
        retries=max(0, int(_number(_get("retries"), DEFAULT_RETRIES))),
    )
