"""Text every store can hold: NUL and lone UTF-16 surrogates become U+FFFD in evidence.

PostgreSQL rejects `\\u0000` in `text` and `jsonb` and no store can encode a lone surrogate as UTF-8,
while SQLite takes the former: without this, one record would be a poison pill on one store and fine
on the other. Evidence is normalised where it is made (and where evidence made elsewhere comes in), so
every store, file and topic gets the same bytes. The normalised evidence says so in its G3 gate's
details (`text_normalised`); its verdict is whatever the gates decided.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from signal_factory.model.evidence import G3_SCHEMA, Evidence

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
    return [_storable(ev) for ev in evidence]


def _storable(ev: Evidence) -> Evidence:
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
