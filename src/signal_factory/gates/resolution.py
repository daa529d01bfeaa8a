"""G1 resolution: topic -> dataset URN. An unknown topic is a FAIL, never a silent drop.

An unknown topic is named through the guard (`privacy/guard.py`): `UNKNOWN_TOPIC:redacted-SSN-...`.
"""

from __future__ import annotations

from signal_factory.controlplane.model import Dataset, TopicMapping
from signal_factory.model.evidence import FAIL, G1_RESOLUTION, PASS, GateResult
from signal_factory.privacy.guard import safe_token


class ResolutionGate:
    def __init__(self, topics: dict[str, TopicMapping], datasets: dict[str, Dataset]) -> None:
        self._by_topic: dict[str, tuple[Dataset, GateResult]] = {}
        for topic, mapping in topics.items():
            ds = datasets[mapping.dataset]
            self._by_topic[topic] = (ds, GateResult(G1_RESOLUTION, PASS, None, {"dataset_urn": ds.urn}))

    def run(self, topic: str) -> tuple[Dataset | None, GateResult]:
        hit = self._by_topic.get(topic)
        if hit is not None:
            return hit
        shown = safe_token(topic)  # a producer may name a topic anything: never write it raw
        return None, GateResult(G1_RESOLUTION, FAIL, f"UNKNOWN_TOPIC:{shown}",
                                {"topic": shown, "message": "no dataset is mapped to this topic in topics.yaml"})
