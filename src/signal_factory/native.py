"""Which per-record core runs: the native one (`signal_factory_native`, built from `native/`) or Python's.

The Python code is the reference; the native module is used when it imports, and must give byte-identical
evidence (`tests/enforcer/test_native_differential.py`). `SIGNAL_FACTORY_NATIVE` forces a choice:
`0` (or `off`) uses Python even when the module is built; `1` (or `on`) makes a missing module an error
at import time instead of a silent fallback. Unset: native when importable.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

_CHOICE = os.environ.get("SIGNAL_FACTORY_NATIVE", "").strip().lower()


def _load() -> ModuleType | None:
    if _CHOICE in ("0", "off", "false", "no"):
        return None
    try:
        module = importlib.import_module("signal_factory_native")
    except ImportError:
        if _CHOICE in ("1", "on", "true", "yes"):
            raise ImportError("SIGNAL_FACTORY_NATIVE=1 but the native module is not built: "
                              "run `make .venv/.installed` or `pip install ./native`") from None
        return None
    return module


#: The native module, or None when the Python reference path runs.
core: ModuleType | None = _load()


def active() -> str:
    """'native' or 'python': which path this process runs."""
    return "python" if core is None else "native"
