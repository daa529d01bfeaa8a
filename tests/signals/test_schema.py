"""Every signal the engines emit validates against the seed's `urn:schema:signal:1` shape (seed 4.1)."""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import SLIDING_15MIN, TUMBLING_1HR, TUMBLING_5MIN, encode_signal
from tests.signals.test_replay import script

#: Seed 4.1, with the window types the batch form (BATCH_RUN, Scenario 2) and point signals (POINT) add.
SIGNAL_SCHEMA: dict[str, Any] = {
    "$id": "urn:schema:signal:1",
    "type": "object",
    "required": ["signal_id", "signal_type", "dataset_urn", "state", "window"],
    "properties": {
        "signal_id": {"type": "string", "pattern": "^sig-[0-9A-Z]{26}$"},
        "signal_type": {"enum": ["FRESHNESS_BREACH", "VOLUME_ANOMALY", "CONTRACT_BREACH", "DQ_BREACH",
                                 "DRIFT_DETECTED", "COST_ANOMALY"]},
        "dataset_urn": {"type": "string"},
        "state": {"enum": ["OK", "WARNING", "CRITICAL", "UNKNOWN"]},
        "window": {
            "type": "object",
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "type": {"enum": ["TUMBLING_5MIN", "TUMBLING_1HR", "SLIDING_15MIN", "BATCH_RUN", "POINT"]},
            },
        },
        "metrics": {
            "type": "object",
            "properties": {
                "evidence_count": {"type": "integer"},
                "pass_count": {"type": "integer"},
                "fail_count": {"type": "integer"},
                "compliance_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "slo_threshold": {"type": "number"},
            },
        },
        "top_failures": {
            "type": "array", "maxItems": 5,
            "items": {"type": "object", "properties": {
                "signature": {"type": "string"}, "count": {"type": "integer"},
                "first_seen": {"type": "string", "format": "date-time"}}},
        },
        "evidence_refs": {"type": "array", "maxItems": 10, "items": {"type": "string"}},
    },
}


def test_all_emitted_signals_validate_against_the_seed_schema(control_plane: ControlPlane) -> None:
    """Signals of all six types, every window type, provisional and corrected, match the seed's schema."""
    host = SignalEngineHost(control_plane, EngineConfig(contract_windows=(TUMBLING_5MIN, SLIDING_15MIN, TUMBLING_1HR)))
    out: list[Any] = []
    for step in script():
        out += step(host)
    validator = jsonschema.Draft202012Validator(SIGNAL_SCHEMA)
    kinds = set()
    for sig in out:
        doc = msgspec.json.decode(encode_signal(sig))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], doc
        for stamp in (doc["timestamp"], doc["window"]["start"], doc["window"]["end"]):
            assert stamp.endswith("Z")
            assert parse_iso_ms(stamp) is not None
        kinds.add((doc["signal_type"], doc["window"]["type"], doc.get("provisional", False)))
    assert len(kinds) == 11  # 6 types; contract on 3 window types, each final and provisional
