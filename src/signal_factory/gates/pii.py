"""G5 PII: find personal data in fields the contract does not classify as PII.

Evidence names the field path and the PII type, never the value: `PII_DETECTED:notes:SSN`. The path
is built from payload key names, which the producer controls: it goes through the guard
(`privacy/guard.py`), so a key that is itself an SSN reads `PII_DETECTED:extra.redacted-SSN-...:SSN`.
Integers long enough to be a card number (13+ digits) are checked too: a card sent as a JSON number.
"""

from __future__ import annotations

from typing import Any

from signal_factory.model.evidence import FAIL, G5_PII, PASS, SKIP, WARN, GateResult
from signal_factory.native import core as _native
from signal_factory.privacy.guard import safe_path
from signal_factory.privacy.pii_detectors import detect

_CLEAN = GateResult(G5_PII, PASS, None, {"pii_detected": False})
_NOTHING = GateResult(G5_PII, SKIP, None, {"reason": "payload not decoded"})
_MAX_FINDINGS = 10
_MIN_LEN = 7  # nothing we detect fits in fewer characters
_CONTAINERS = (dict, list)  # a tuple: isinstance with `dict | list` builds the union on every call
_CARD_MIN = 10 ** 12  # an int below this has at most 12 digits: no card number


def _number_kind(v: int) -> str | None:
    """PII type of an integer's digits (a card number sent as a JSON number), or None."""
    kind = detect(str(v))
    return None if kind is None else str(kind)


def scan(obj: Any, classified: frozenset[str], prefix: str = "") -> list[tuple[str, str]]:
    """(field path, PII type) for every string leaf that holds PII, skipping classified fields.

    Findings come in document order; past `_MAX_FINDINGS` the last ones in document order are kept.
    """
    found: list[tuple[str, str]] = []
    if isinstance(obj, str):
        if len(obj) >= _MIN_LEN:
            kind = detect(obj)
            if kind is not None:
                found.append((prefix or "$", str(kind)))
        return found
    if type(obj) is int and obj >= _CARD_MIN:
        number_kind = _number_kind(obj)
        if number_kind is not None:
            found.append((prefix or "$", number_kind))
        return found
    if isinstance(obj, _CONTAINERS):
        parents = _parents.get(classified)
        if parents is None:
            parents = _parents_of(classified)
        try:
            if _walk(obj, prefix, classified, parents, found):
                # The cap was hit: which findings survive depends on the reference walk's order.
                return _scan_iterative(obj, classified, prefix)
        except RecursionError:  # absurdly deep input: the iterative walk has no depth limit
            return _scan_iterative(obj, classified, prefix)
    return found


_parents: dict[frozenset[str], tuple[frozenset[str], frozenset[str]]] = {}


def _parents_of(classified: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(dict paths, list paths) whose children's paths can be in `classified`.

    A dict at path P makes child paths `P.k` (or `k` at the root); a list makes `P[]`. Any other
    container cannot have a classified child, so its children's paths are built only on a finding.
    """
    dicts: set[str] = {""} if classified else set()
    lists: set[str] = set()
    for c in classified:
        dicts.update(c[:i] for i, ch in enumerate(c) if ch == "." and i > 0)
        if c.endswith("[]"):
            lists.add(c[:-2])
    if len(_parents) >= 256:
        _parents.clear()
    hit = _parents[classified] = (frozenset(dicts), frozenset(lists))
    return hit


def _walk(node: dict[Any, Any] | list[Any], path: str, classified: frozenset[str],
          parents: tuple[frozenset[str], frozenset[str]], found: list[tuple[str, str]]) -> bool:
    """Append findings in document order (depth first); True as soon as `_MAX_FINDINGS` are found.

    Below the cap the findings equal `_scan_iterative`'s. Only strings long enough to hold PII,
    dicts and lists are looked at, and a path is built only where it can be classified or is needed.
    """
    if isinstance(node, dict):
        if path in parents[0]:  # a child's path may be classified: check each one
            for k, v in node.items():
                if isinstance(v, str):
                    if len(v) >= _MIN_LEN:
                        child = f"{path}.{k}" if path else str(k)
                        if child not in classified:
                            kind = detect(v)
                            if kind is not None:
                                found.append((child or "$", str(kind)))
                                if len(found) >= _MAX_FINDINGS:
                                    return True
                elif isinstance(v, _CONTAINERS):
                    child = f"{path}.{k}" if path else str(k)
                    if child not in classified and _walk(v, child, classified, parents, found):
                        return True
                elif type(v) is int and v >= _CARD_MIN:
                    child = f"{path}.{k}" if path else str(k)
                    if child not in classified:
                        number_kind = _number_kind(v)
                        if number_kind is not None:
                            found.append((child, number_kind))
                            if len(found) >= _MAX_FINDINGS:
                                return True
            return False
        for k, v in node.items():
            if isinstance(v, str):
                if len(v) >= _MIN_LEN:
                    kind = detect(v)
                    if kind is not None:
                        found.append((f"{path}.{k}" if path else str(k) or "$", str(kind)))
                        if len(found) >= _MAX_FINDINGS:
                            return True
            elif isinstance(v, _CONTAINERS):
                if _walk(v, f"{path}.{k}" if path else str(k), classified, parents, found):
                    return True
            elif type(v) is int and v >= _CARD_MIN:
                number_kind = _number_kind(v)
                if number_kind is not None:
                    found.append((f"{path}.{k}" if path else str(k) or "$", number_kind))
                    if len(found) >= _MAX_FINDINGS:
                        return True
        return False
    item_path = f"{path}[]"
    if path in parents[1] and item_path in classified:
        return False
    for v in node:
        if isinstance(v, str):
            if len(v) >= _MIN_LEN:
                kind = detect(v)
                if kind is not None:
                    found.append((item_path, str(kind)))
                    if len(found) >= _MAX_FINDINGS:
                        return True
        elif isinstance(v, _CONTAINERS):
            if _walk(v, item_path, classified, parents, found):
                return True
        elif type(v) is int and v >= _CARD_MIN:
            number_kind = _number_kind(v)
            if number_kind is not None:
                found.append((item_path, number_kind))
                if len(found) >= _MAX_FINDINGS:
                    return True
    return False


def _scan_iterative(obj: Any, classified: frozenset[str], prefix: str = "") -> list[tuple[str, str]]:
    """Reference walk with an explicit stack (no recursion limit); `scan` must agree with it."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(prefix, obj)]
    while stack and len(found) < _MAX_FINDINGS:
        path, node = stack.pop()
        if isinstance(node, str):
            if len(node) >= _MIN_LEN:
                kind = detect(node)
                if kind is not None:
                    found.append((path or "$", str(kind)))
        elif type(node) is int:
            if node >= _CARD_MIN:
                number_kind = _number_kind(node)
                if number_kind is not None:
                    found.append((path or "$", number_kind))
        elif isinstance(node, dict):
            for k, v in node.items():
                child = f"{path}.{k}" if path else str(k)
                if child not in classified and (isinstance(v, str | dict | list) or type(v) is int):
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
        self._screens: dict[frozenset[str], Any] = {}  # classified paths -> native PiiScreen

    def run(self, payload: Any, metadata: Any, classified: frozenset[str]) -> GateResult:
        if payload is None and metadata is None:
            return _NOTHING
        # Native pre-screen (`native/src/lib.rs`): True only when no leaf passes `detect`'s own screen, so
        # the clean result below is what the Python walk would return; otherwise the walk runs as ever.
        if _native is not None:
            screen = self._screens.get(classified)
            if screen is None:
                if len(self._screens) >= 256:
                    self._screens.clear()
                screen = self._screens[classified] = _native.PiiScreen(classified)
            if screen.clear(payload) and (
                    not self._scan_metadata or not isinstance(metadata, dict) or _native.pii_clear(metadata)):
                return _CLEAN
        findings = scan(payload, classified)
        if self._scan_metadata and isinstance(metadata, dict):
            findings.extend(scan(metadata, frozenset(), "metadata"))
        if not findings:
            return _CLEAN
        findings = [(safe_path(f), k) for f, k in findings]  # key names are producer-controlled
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
