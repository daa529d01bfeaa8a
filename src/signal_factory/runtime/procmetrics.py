"""What every Signal Factory process exports beside its own metrics: process (CPU, memory, open files,
start time), Python platform, and `signal_factory_build_info{version,python,component} 1`.

Each process keeps its own `CollectorRegistry` (never prometheus_client's global one, so tests and
embedding processes stay isolated); `add_process_metrics` registers these collectors into it.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector

from signal_factory import __version__

PREFIX = "signal_factory_"


def add_process_metrics(registry: CollectorRegistry, component: str) -> None:
    """Register process_*, python_info and build_info into `registry` for a process of kind `component`
    (serve, enforcer, signals, alerts)."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    info = Gauge(f"{PREFIX}build_info", "Always 1; the labels say which build and which component runs.",
                 ["version", "python", "component"], registry=registry)
    info.labels(version=__version__, python=platform.python_version(), component=component).set(1)
