"""Payload copies for evidence with PII removed: classified fields and detected fields replaced."""

from __future__ import annotations

from typing import Any

from signal_factory.gates.pii_detectors import detect
from signal_factory.model.evidence import GateResult


def redacted_payload(obj: Any, classified: frozenset[str], g5: GateResult) -> Any:
    """Deep copy of `obj` with classified fields -> '<redacted>' and PII findings -> '<redacted:TYPE>'."""
    findings: dict[str, str] = {}
    if g5.details and g5.details.get("pii_detected"):
        findings = {f["field"]: f["pii_type"] for f in g5.details["findings"]}
    envelope = isinstance(obj, dict) and "event_type" in obj and isinstance(obj.get("payload"), dict)
    if envelope:
        out = dict(obj)
        out["payload"] = _walk(obj["payload"], "", classified, findings)
        if isinstance(obj.get("metadata"), dict):
            out["metadata"] = _walk(obj["metadata"], "metadata", frozenset(), findings)
        return out
    return _walk(obj, "", classified, findings)


def _walk(node: Any, path: str, classified: frozenset[str], findings: dict[str, str]) -> Any:
    if path in classified:
        return "<redacted>"
    if path in findings:
        return f"<redacted:{findings[path]}>"
    if isinstance(node, dict):
        return {k: _walk(v, f"{path}.{k}" if path else str(k), classified, findings) for k, v in node.items()}
    if isinstance(node, list):
        item = f"{path}[]"
        return [_walk(v, item, classified, findings) for v in node]
    if isinstance(node, str) and len(node) >= 7:
        kind = detect(node)  # G5 reports at most 10 findings; redaction must not stop there
        if kind is not None:
            return f"<redacted:{kind}>"
    return node
