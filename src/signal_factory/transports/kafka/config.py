"""`KafkaConfig`: where a stage reads, where it writes, and what librdkafka is told. One frozen object.

Precedence: flag > env (`SIGNAL_FACTORY_KAFKA_*`) > default. Any librdkafka property (security
included) passes through untouched: `--kafka-property sasl.password=...` on the command line, or
`SIGNAL_FACTORY_KAFKA_PROP_SASL_PASSWORD=...` in the environment (after the prefix, `_` becomes `.`
and the name is lowercased; librdkafka property names contain no underscores). Secret-looking
properties are never printed: `repr()` and `describe()` show `***` for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from signal_factory.errors import SignalFactoryError
from signal_factory.settings import PREFIX

ENV = f"{PREFIX}KAFKA_"
PROP_ENV = f"{ENV}PROP_"
DEFAULT_EVIDENCE_TOPIC = "signal_factory.evidence"
DEFAULT_TALLY_TOPIC = "signal_factory.evidence.tallies"
DEFAULT_SIGNALS_TOPIC = "signal_factory.signals"
Delivery = Literal["at-least-once", "exactly-once"]
DELIVERIES: tuple[Delivery, ...] = ("at-least-once", "exactly-once")
_SECRET_MARKERS = ("password", "secret", "pem", "jaas", "token", "credentials")
#: Properties the stage sets itself; setting them by hand would break its delivery guarantee.
_RESERVED = frozenset({"enable.auto.commit", "enable.auto.offset.store", "transactional.id", "group.id",
                       "isolation.level", "enable.idempotence"})


class KafkaConfigError(SignalFactoryError):
    """A Kafka setting is missing or malformed."""


def is_secret(name: str) -> bool:
    low = name.lower()
    return any(m in low for m in _SECRET_MARKERS)


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str
    group_id: str
    topics: tuple[str, ...]
    evidence_topic: str = DEFAULT_EVIDENCE_TOPIC
    tally_topic: str = DEFAULT_TALLY_TOPIC
    #: Where the signals stage publishes every committed signal, keyed by dataset URN (None: nowhere).
    signals_topic: str | None = DEFAULT_SIGNALS_TOPIC
    delivery: Delivery = "at-least-once"
    #: Required for exactly-once; one per instance, stable across its restarts (fences zombies).
    transactional_id: str | None = None
    batch_size: int = 500
    poll_timeout_s: float = 0.5
    #: librdkafka properties passed through to every client (security, timeouts, client.id, ...).
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.bootstrap_servers:
            raise KafkaConfigError(f"no Kafka bootstrap servers: pass --bootstrap-servers host:port or set "
                                   f"{ENV}BOOTSTRAP_SERVERS")
        if not self.group_id:
            raise KafkaConfigError(f"no consumer group id: pass --group-id or set {ENV}GROUP_ID")
        if not self.topics:
            raise KafkaConfigError(f"no topics to consume: pass --topics raw.orders.events[,...] or set {ENV}TOPICS")
        if self.delivery not in DELIVERIES:
            raise KafkaConfigError(f"delivery must be one of {', '.join(DELIVERIES)}, got {self.delivery!r}")
        if self.delivery == "exactly-once" and not self.transactional_id:
            raise KafkaConfigError("delivery exactly-once needs a transactional id, stable per instance: pass "
                                   f"--transactional-id or set {ENV}TRANSACTIONAL_ID")
        if self.batch_size < 1:
            raise KafkaConfigError(f"batch size must be >= 1, got {self.batch_size}")
        reserved = sorted(_RESERVED & set(self.properties))
        if reserved:
            raise KafkaConfigError(f"librdkafka properties {', '.join(reserved)} are set by the stage itself "
                                   "(from --group-id, --delivery, --transactional-id); remove them")

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                     ) -> KafkaConfig:
        """Build from CLI flags (None = not given) over env over defaults."""
        flags = {k: v for k, v in (flags or {}).items() if v is not None}
        env = dict(os.environ) if env is None else env
        props = {k[len(PROP_ENV):].lower().replace("_", "."): v for k, v in env.items() if k.startswith(PROP_ENV)}
        props.update(parse_properties(flags.pop("properties", ())))

        def pick(name: str, default: Any = None) -> Any:
            if name in flags:
                return flags[name]
            return env.get(f"{ENV}{name.upper()}", default)

        topics = pick("topics", "")
        signals_topic = pick("signals_topic", DEFAULT_SIGNALS_TOPIC)
        if isinstance(signals_topic, str) and signals_topic.strip().lower() in ("", "none", "-"):
            signals_topic = None
        if isinstance(topics, str):
            topics = [t for t in (s.strip() for s in topics.split(",")) if t]
        try:
            batch_size = int(pick("batch_size", 500))
            poll_timeout_s = float(pick("poll_timeout_s", 0.5))
        except ValueError as e:
            raise KafkaConfigError(f"{ENV}BATCH_SIZE / {ENV}POLL_TIMEOUT_S must be numbers: {e}") from e
        return cls(bootstrap_servers=pick("bootstrap_servers", ""), group_id=pick("group_id", ""),
                   topics=tuple(topics), evidence_topic=pick("evidence_topic", DEFAULT_EVIDENCE_TOPIC),
                   tally_topic=pick("tally_topic", DEFAULT_TALLY_TOPIC), signals_topic=signals_topic,
                   delivery=pick("delivery", "at-least-once"),
                   transactional_id=pick("transactional_id"), batch_size=batch_size, poll_timeout_s=poll_timeout_s,
                   properties=props)

    def consumer_conf(self) -> dict[str, Any]:
        return {**self.properties, "bootstrap.servers": self.bootstrap_servers, "group.id": self.group_id,
                "enable.auto.commit": False, "enable.auto.offset.store": False,
                "auto.offset.reset": self.properties.get("auto.offset.reset", "earliest"),
                "isolation.level": "read_committed"}

    def producer_conf(self) -> dict[str, Any]:
        conf: dict[str, Any] = {**self.properties, "bootstrap.servers": self.bootstrap_servers,
                                "enable.idempotence": True}
        if self.delivery == "exactly-once":
            conf["transactional.id"] = self.transactional_id
        return conf

    def describe(self) -> dict[str, Any]:
        """Safe to log: secret-looking properties are masked."""
        return {"bootstrap_servers": self.bootstrap_servers, "group_id": self.group_id, "topics": list(self.topics),
                "evidence_topic": self.evidence_topic, "tally_topic": self.tally_topic,
                "signals_topic": self.signals_topic, "delivery": self.delivery,
                "transactional_id": self.transactional_id, "batch_size": self.batch_size,
                "properties": {k: "***" if is_secret(k) else v for k, v in sorted(self.properties.items())}}

    def __repr__(self) -> str:
        return f"KafkaConfig({self.describe()!r})"


def parse_properties(items: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """`["sasl.mechanism=PLAIN", ...]` (kcat's -X form) -> dict; a mapping passes through."""
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise KafkaConfigError(f"Kafka property {item.split('=')[0]!r} must be NAME=VALUE "
                                   "(e.g. --kafka-property security.protocol=SASL_SSL)")
        out[name.strip()] = value
    return out
