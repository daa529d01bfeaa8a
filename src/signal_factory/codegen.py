"""A tiny Python source writer for the hot-path "screens" generated from contracts and JSON Schemas.

Why generate code: a screen is straight-line Python specialised to one contract or schema (no loop
over rules, no dispatch per rule), which is what lets the enforcer check a typical record in ~1 us.
Constants are passed by name into the namespace, never formatted into the source.
"""

from __future__ import annotations

from typing import Any


class CodeWriter:
    def __init__(self, consts: dict[str, Any] | None = None) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = dict(consts or {})
        self._n = 0

    def const(self, value: Any) -> str:
        """A name bound to `value` in the generated module."""
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        """A fresh local variable name."""
        self._n += 1
        return f"v{self._n}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def build(self, name: str, filename: str) -> Any:
        """Compile what was written and return the function called `name`."""
        namespace = dict(self.consts)
        exec(compile("\n".join(self.lines), filename, "exec"), namespace)
        return namespace[name]
