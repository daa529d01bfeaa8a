"""YAML with positions: load a file and map a key path (`$.datasets[0].tier`) back to its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from signal_factory.errors import ConfigError

_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class YamlDoc:
    """A parsed YAML file: its data and its node tree (for line numbers)."""

    def __init__(self, path: Path, data: Any, root: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self.root = root

    @classmethod
    def load(cls, path: Path) -> YamlDoc:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(str(path), f"cannot read file: {e.strerror}",
                              fix="check the path and its permissions") from e
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
            raise ConfigError(str(path), f"invalid YAML: {e.problem}",
                              line=mark.line + 1 if mark is not None else None,
                              fix="fix the YAML syntax at that line (indentation, quotes, colons)") from e
        return cls(path, data, root)

    def line_of(self, key_path: str | tuple[str | int, ...]) -> int | None:
        """1-based line of the node at `key_path`, or of its nearest existing parent."""
        parts: tuple[str | int, ...]
        if isinstance(key_path, str):
            parts = tuple(m.group(1) if m.group(1) is not None else int(m.group(2))
                          for m in _PATH_TOKEN.finditer(key_path.removeprefix("$")))
        else:
            parts = key_path
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in parts:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def error(self, message: str, key: str | tuple[str | int, ...], fix: str) -> ConfigError:
        shown = key if isinstance(key, str) else _dotted(key)
        return ConfigError(str(self.path), message, line=self.line_of(key), key=shown.removeprefix("$."),
                           fix=fix)


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def _dotted(parts: tuple[str | int, ...]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out
