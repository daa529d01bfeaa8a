"""Control-plane records as loaded from YAML. Unknown keys are errors (typos must not pass silently)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

import msgspec

#: The window kinds a dataset may choose (`window:` in datasets.yaml); the signal engines define each one
#: (signals/windows.py SPECS, whose keys a test holds equal to these).
WINDOW_KINDS = ("TUMBLING_5MIN", "TUMBLING_1HR", "SLIDING_15MIN")

URN_PATTERN = re.compile(r"^urn:dp:[a-z_]+:[a-z_]+$")

Severity = Literal["FAIL", "WARN"]


class ThresholdSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A ratio SLO: >= threshold is OK, >= warning_threshold is WARNING, below is CRITICAL."""

    threshold: float = 0.95
    warning_threshold: float = 0.80


class FreshnessSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Records (or a successful run) are expected at least every `expected_interval`."""

    expected_interval: str = "15m"


class VolumeSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Volume anomaly tuning: how far from the learned baseline is anomalous."""

    tolerance: float = 3.0
    min_history_windows: int = 12


class Slo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    contract_compliance: ThresholdSlo = ThresholdSlo()
    data_quality: ThresholdSlo | None = None
    freshness: FreshnessSlo | None = None
    volume: VolumeSlo | None = None


class FeedsEdge(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """This dataset FEEDS `to`; `type` says how (STREAM, BATCH, DASHBOARD, EXPORT)."""

    to: str
    type: str = "STREAM"
    job: str | None = None


class Dataset(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    urn: str
    tier: int
    owner: str
    name: str | None = None
    type: str = "kafka_topic"
    classification: str | None = None
    description: str | None = None
    schema: str | None = None
    contract: str | None = None
    contract_object: str | None = None
    producers: list[str] = []
    consumers: list[str] = []
    feeds: list[FeedsEdge] = []
    slo: Slo = Slo()
    pass_sample_rate: float | None = None
    # The window CONTRACT_BREACH runs on for this dataset (TUMBLING_5MIN, TUMBLING_1HR, SLIDING_15MIN);
    # None: the engines' default (`EngineConfig.contract_windows`, TUMBLING_5MIN as shipped).
    window: str | None = None


class DatasetsFile(msgspec.Struct, forbid_unknown_fields=True):
    datasets: list[Dataset]


class TopicMapping(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    topic: str
    dataset: str
    producer: str | None = None


class TopicsFile(msgspec.Struct, forbid_unknown_fields=True):
    topics: list[TopicMapping]


class ProducerSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: str
    owner: str | None = None
    repo: str | None = None
    description: str | None = None


class ProducersFile(msgspec.Struct, forbid_unknown_fields=True):
    producers: list[ProducerSpec] = []


class EvidenceSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How evidence is written.

    `pass_sample_rates` keeps that share of PASS evidence per tier (FAIL/WARN always kept; counts stay
    exact through tallies). `payload`: none | failures | all — attach the (PII-redacted) payload to
    evidence; payloads over `max_inline_payload_bytes` are stored aside and referenced by `payload_ref`.
    """

    pass_sample_rates: dict[int, float] = msgspec.field(default_factory=lambda: {1: 1.0, 2: 0.5, 3: 0.1})
    payload: Literal["none", "failures", "all"] = "none"
    max_inline_payload_bytes: int = 4096
    retention: str = "30d"  # `signal-factory evidence purge` deletes evidence older than this


class RegistrySettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Optional Confluent-compatible schema registry (credentials come from the environment)."""

    url: str | None = None
    timeout_s: float = 2.0
    ttl_s: float = 300.0


class PiiSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    on_detect: Severity = "FAIL"
    scan_metadata: bool = True


class IdentitySettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Payload fields that hint at the producer (G2's LOW-confidence fallback), in order."""

    payload_hint_fields: list[str] = msgspec.field(
        default_factory=lambda: ["metadata.producer_service", "producer_service", "producer", "source"])


class EventTimeSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Bounds on a record's own time (enforcer/eventtime.py): outside them it is WARN `CLOCK_SKEW:*`.

    `max_future_skew`: how far ahead of the enforcer's ingest clock a record may be stamped.
    `min_event_time`: records stamped before this instant (ISO-8601; no offset means UTC) are
    `CLOCK_SKEW:past`.
    """

    max_future_skew: str = "5m"
    min_event_time: datetime = datetime(2000, 1, 1, tzinfo=UTC)


class PlatformSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`signal-factory.yaml` at the root of the config directory (all optional)."""

    evidence: EvidenceSettings = EvidenceSettings()
    schema_registry: RegistrySettings = RegistrySettings()
    pii: PiiSettings = PiiSettings()
    identity: IdentitySettings = IdentitySettings()
    event_time: EventTimeSettings = EventTimeSettings()
