"""What every Signal Factory process exports beside its own metrics: process (CPU, memory, open files,
start time), Python platform, and `signal_factory_build_info{version,python,component} 1`; and, in every
process that reloads the control plane (serve and the run stages), `config_reloads_total{result}`.

Each process keeps its own `CollectorRegistry` (never prometheus_client's global one, so tests and
embedding processes stay isolated); `add_process_metrics` registers these collectors into it.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge, PlatformCollector, ProcessCollector

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


def reload_counter(registry: CollectorRegistry) -> Counter:
    """`config_reloads_total{result}`: control-plane reloads (runtime/reload.py), `ok` and `rejected` at 0."""
    counter = Counter(f"{PREFIX}config_reloads", "Control-plane reloads, by result (ok, rejected).", ["result"],
                      registry=registry)
    for result in ("ok", "rejected"):
        counter.labels(result=result)
    return counter
