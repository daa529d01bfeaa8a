"""The one place that says pyspark is missing and how to get it."""

from __future__ import annotations

import importlib.util

from signal_factory.errors import SignalFactoryError

INSTALL_HINT = "pip install 'signal-factory[spark]'  (or, in a checkout: pip install -e '.[spark]')"


class SparkNotInstalledError(SignalFactoryError, ImportError):
    """`signal_factory.integrations.spark` was imported without pyspark installed."""


def require_pyspark() -> None:
    """Raise `SparkNotInstalledError` with the install command when pyspark cannot be imported."""
    if importlib.util.find_spec("pyspark") is None:
        raise SparkNotInstalledError(
            "signal_factory.integrations.spark needs pyspark (>= 4.0), which is not installed in "
            f"this environment. Install it with: {INSTALL_HINT}")
