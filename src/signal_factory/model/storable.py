"""Text every store can hold: NUL and lone UTF-16 surrogates become U+FFFD in evidence.

PostgreSQL rejects `\\u0000` in `text` and `jsonb` and no store can encode a lone surrogate as UTF-8,
while SQLite takes the former: without this, one record would be a poison pill on one store and fine
on the other. Evidence is normalised where it is made (and where evidence made elsewhere comes in), so
every store, file and topic gets the same bytes. The normalised evidence says so in its G3 gate's
details (`text_normalised`); its verdict is whatever the gates decided.

On the enforcer's hot path `may_hold_unstorable(record)` (a few C-speed scans of the record's text)
decides which evidence `storable_one` must look at, so clean records cost no evidence encode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from signal_factory.model.evidence import G3_SCHEMA, Evidence
from signal_factory.model.records import RawRecord

REPLACEMENT = "\ufffd"
NORMALISED = "text_normalised"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (unchanged, same object, when clean)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_evidence(evidence: Sequence[Evidence]) -> list[Evidence]:
    """`evidence` with every unstorable character replaced. One encode of the batch finds out whether any
    evidence needs it (msgspec escapes NUL as `\\u0000` and refuses lone surrogates), so clean batches
    cost one encode; only the dirty evidence is rebuilt."""
    try:
        if b"\\u0000" not in msgspec.json.encode(evidence):
            return list(evidence)
    except UnicodeEncodeError:
        pass
    return [storable_one(ev) for ev in evidence]


def may_hold_unstorable(rec: RawRecord) -> bool:
    """Could `rec`'s evidence carry a NUL or a lone surrogate? False only when it certainly cannot: its
    texts are ASCII without NUL (or at least free of both), its JSON value holds no `\\u0000` escape (msgspec
    refuses lone surrogate escapes) and is not a wire-format frame (Avro strings may hold NUL). An already
    decoded value (plain form) is not scanned: True."""
    if rec.value_obj is not msgspec.UNSET:
        return True
    value = rec.value
    # `b"\\" in` is a memchr; most JSON values hold no backslash at all, so the 6-byte search rarely runs.
    if value and (value[0] == 0 or (b"\\" in value and b"\\u0000" in value)):
        return True
    joined = "".join((rec.topic or "", rec.key or "", *rec.headers, *rec.headers.values()))
    if joined.isascii():  # O(1) in CPython
        return "\x00" in joined
    return _UNSTORABLE.search(joined) is not None


def storable_one(ev: Evidence) -> Evidence:
    """`ev`, or a normalised copy when it holds an unstorable character."""
    try:
        if b"\\u0000" not in msgspec.json.encode(ev):
            return ev
    except UnicodeEncodeError:
        pass
    clean = msgspec.convert(_clean(msgspec.to_builtins(ev)), type=Evidence)
    for gate in clean.validation.gates:
        if gate.gate == G3_SCHEMA:
            gate.details = {**(gate.details or {}), NORMALISED: True}
    return clean


def _clean(node: Any) -> Any:
    """Depth is bounded: evidence payloads passed the `MAX_DEPTH` check before they were attached."""
    if isinstance(node, str):
        return storable_text(node)
    if isinstance(node, dict):
        return {storable_text(k) if isinstance(k, str) else k: _clean(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node
