"""G5 PII: find personal data in fields the contract does not classify as PII.

Evidence names the field path and the PII type, never the value: `PII_DETECTED:notes:SSN`.
"""

from __future__ import annotations

from typing import Any

from signal_factory.gates.pii_detectors import detect
from signal_factory.model.evidence import FAIL, G5_PII, PASS, SKIP, WARN, GateResult

_CLEAN = GateResult(G5_PII, PASS, None, {"pii_detected": False})
_NOTHING = GateResult(G5_PII, SKIP, None, {"reason": "payload not decoded"})
_MAX_FINDINGS = 10
_MIN_LEN = 7  # nothing we detect fits in fewer characters


def scan(obj: Any, classified: frozenset[str], prefix: str = "") -> list[tuple[str, str]]:
    """(field path, PII type) for every string leaf that holds PII, skipping classified fields."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(prefix, obj)]
    while stack and len(found) < _MAX_FINDINGS:
        path, node = stack.pop()
        if isinstance(node, str):
            if len(node) >= _MIN_LEN:
                kind = detect(node)
                if kind is not None:
                    found.append((path or "$", str(kind)))
        elif isinstance(node, dict):
            for k, v in node.items():
                child = f"{path}.{k}" if path else str(k)
                if child not in classified and (isinstance(v, str | dict | list)):
                    stack.append((child, v))
        elif isinstance(node, list):
            item_path = f"{path}[]"
            if item_path not in classified:
                stack.extend((item_path, v) for v in node)
    found.reverse()
    return found


class PiiGate:
    def __init__(self, on_detect: str = FAIL, scan_metadata: bool = True) -> None:
        self._on_detect = FAIL if on_detect == FAIL else WARN
        self._scan_metadata = scan_metadata

    def run(self, payload: Any, metadata: Any, classified: frozenset[str]) -> GateResult:
        if payload is None and metadata is None:
            return _NOTHING
        findings = scan(payload, classified)
        if self._scan_metadata and isinstance(metadata, dict):
            findings.extend(scan(metadata, frozenset(), "metadata"))
        if not findings:
            return _CLEAN
        field, kind = findings[0]
        return GateResult(G5_PII, self._on_detect, f"PII_DETECTED:{field}:{kind}", {
            "pii_detected": True,
            "findings": [{"field": f, "pii_type": k} for f, k in findings],
        })


def pii_reason_codes(gate: GateResult) -> list[str]:
    """Every finding as a reason code (the gate's own `reason_code` holds only the first)."""
    if gate.details is None or not gate.details.get("pii_detected"):
        return []
    return [f"PII_DETECTED:{f['field']}:{f['pii_type']}" for f in gate.details["findings"]]
