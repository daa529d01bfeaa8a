"""G2 identity: who produced this record, and how sure are we.

header `x-obs-producer-service` (HIGH) -> the topic's mapped producer (MEDIUM) -> a payload hint
such as `metadata.producer_service` (LOW) -> UNKNOWN (NONE, a WARN: compliance by producer is blind).
The version comes from `x-obs-producer-version`, else from the payload's `metadata.producer_version`.
Both are producer-controlled: the service (unless it is a configured producer) and the version go
through the guard (`privacy/guard.py`), so evidence, graph and summaries never carry them raw.
"""

from __future__ import annotations

from typing import Any

from signal_factory.controlplane.model import TopicMapping
from signal_factory.model.evidence import G2_IDENTITY, PASS, WARN, GateResult, Producer
from signal_factory.privacy.guard import safe_token

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
NONE = "NONE"
UNKNOWN = "UNKNOWN"


def _dig(obj: Any, dotted: tuple[str, ...]) -> Any:
    for part in dotted:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class IdentityGate:
    def __init__(self, topics: dict[str, TopicMapping], hint_fields: list[str]) -> None:
        self._topic_producer = {t: m.producer for t, m in topics.items() if m.producer}
        self._known = frozenset(self._topic_producer.values())  # configured names are written as they are
        self._hints = [tuple(h.split(".")) for h in hint_fields]
        self._cache: dict[tuple[str, str, str | None], tuple[Producer, GateResult]] = {}

    def run(self, topic: str, headers: dict[str, str], value: Any) -> tuple[Producer, GateResult]:
        version = headers.get("x-obs-producer-version")
        if version is None and isinstance(value, dict):
            meta = value.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("producer_version"), str):
                version = meta["producer_version"]
        service = headers.get("x-obs-producer-service")
        if service:
            return self._result(service, HIGH, version)
        mapped = self._topic_producer.get(topic)
        if mapped:
            return self._result(mapped, MEDIUM, version)
        if isinstance(value, dict):
            for path in self._hints:
                hint = _dig(value, path)
                if isinstance(hint, str) and hint:
                    return self._result(hint, LOW, version)
        return self._result(UNKNOWN, NONE, version)

    def _result(self, service: str, confidence: str, version: str | None) -> tuple[Producer, GateResult]:
        key = (service, confidence, version)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        # Service (unless configured) and version are producer-controlled: guarded, never raw.
        if service not in self._known:
            service = safe_token(service)
        if version is not None:
            version = safe_token(version)
        details: dict[str, Any] = {"producer": service, "confidence": confidence}
        if version is not None:
            details["version"] = version
        if confidence == NONE:
            gate = GateResult(G2_IDENTITY, WARN, "UNKNOWN_PRODUCER:producer", details)
        else:
            gate = GateResult(G2_IDENTITY, PASS, None, details)
        hit = (Producer(service, confidence, version), gate)
        if len(self._cache) < 10_000 and len(key[0]) + len(key[2] or "") <= 256:  # bounded: header garbage
            self._cache[key] = hit
        return hit
