"""Payload copies for evidence with PII removed: classified fields, PII values and PII key names replaced.

Every string value and every integer long enough to be a card number goes through the detectors (G5
reports at most 10 findings; redaction must not stop there), so the copy never depends on what G5
happened to report. Key names are producer-controlled too: a key that looks like PII (or is longer than
64 characters) is replaced by its stand-in (`privacy/guard.py`: `redacted-SSN-...`).
"""

from __future__ import annotations

from typing import Any

from signal_factory.privacy.guard import safe_key
from signal_factory.privacy.pii_detectors import detect

_CARD_MIN = 10 ** 12  # an int below this has at most 12 digits: no card number


def redacted_payload(obj: Any, classified: frozenset[str]) -> Any:
    """Deep copy of `obj` with classified fields -> '<redacted>', PII values -> '<redacted:TYPE>' and
    PII-looking key names -> their stand-ins."""
    envelope = isinstance(obj, dict) and "event_type" in obj and isinstance(obj.get("payload"), dict)
    if envelope:
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            if k == "payload":
                out[k] = _walk(v, "", classified)
            elif k == "metadata" and isinstance(v, dict):
                out[k] = _walk(v, "metadata", frozenset())
            else:
                out[safe_key(k)] = _walk(v, "\x00", frozenset())  # no envelope field is classified
        return out
    return _walk(obj, "", classified)


def _walk(node: Any, path: str, classified: frozenset[str]) -> Any:
    if path in classified:
        return "<redacted>"
    if isinstance(node, dict):
        # The path is built from the raw key (classified paths name raw keys); the copy gets the safe one.
        return {safe_key(k): _walk(v, f"{path}.{k}" if path else str(k), classified) for k, v in node.items()}
    if isinstance(node, list):
        item = f"{path}[]"
        return [_walk(v, item, classified) for v in node]
    if isinstance(node, str):
        if len(node) >= 7:
            kind = detect(node)
            if kind is not None:
                return f"<redacted:{kind}>"
        return node
    if type(node) is int and abs(node) >= _CARD_MIN:
        kind = detect(str(abs(node)))
        if kind is not None:
            return f"<redacted:{kind}>"
    return node
