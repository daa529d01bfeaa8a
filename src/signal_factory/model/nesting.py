"""How deep a producer's JSON may nest: deeper is `MALFORMED_RECORD:depth` evidence, never a crash.

The gates, the PII walk and the evidence encoder recurse once per level (msgspec's decoder too, up to
Python's recursion limit), so an unbounded depth is a `RecursionError` waiting for the right record.
`MAX_DEPTH` is far above what real records use and far below what the stack can take from inside a
server's thread pool.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64
DEPTH_CODE = "MALFORMED_RECORD:depth"
DEPTH_MESSAGE = f"JSON nests deeper than {MAX_DEPTH} levels"


def may_be_too_deep(data: bytes | str) -> bool:
    """Cheap screen: a document with at most MAX_DEPTH opening brackets cannot nest deeper (C-speed
    counts, so the exact walk runs only for documents with many containers)."""
    if isinstance(data, str):
        return data.count("{") + data.count("[") > MAX_DEPTH
    return data.count(b"{") + data.count(b"[") > MAX_DEPTH


def too_deep(obj: Any, limit: int = MAX_DEPTH) -> bool:
    """True when `obj` (decoded JSON) nests more than `limit` containers deep. Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False
