"""KafkaConfig: precedence flag > env > default, librdkafka pass-through, secrets never printed."""

from __future__ import annotations

import pytest

from signal_factory.transports.kafka.config import KafkaConfig, KafkaConfigError, parse_properties

ENV = {"SIGNAL_FACTORY_KAFKA_BOOTSTRAP_SERVERS": "env:9092", "SIGNAL_FACTORY_KAFKA_GROUP_ID": "g-env",
       "SIGNAL_FACTORY_KAFKA_TOPICS": "raw.a, raw.b", "SIGNAL_FACTORY_KAFKA_PROP_SASL_PASSWORD": "hunter2",
       "SIGNAL_FACTORY_KAFKA_PROP_SECURITY_PROTOCOL": "SASL_SSL"}


def test_flags_override_env_which_overrides_defaults() -> None:
    """A flag beats its env var; unset flags fall back to env, then to defaults."""
    cfg = KafkaConfig.from_sources({"bootstrap_servers": "flag:9092", "group_id": None}, ENV)
    assert cfg.bootstrap_servers == "flag:9092"
    assert cfg.group_id == "g-env"
    assert cfg.topics == ("raw.a", "raw.b")
    assert cfg.evidence_topic == "signal_factory.evidence"
    assert cfg.delivery == "at-least-once"


def test_properties_pass_through_to_librdkafka() -> None:
    """Env PROP_ names become dotted librdkafka names; -X flags add to and override them."""
    cfg = KafkaConfig.from_sources({"properties": ["security.protocol=SSL", "ssl.ca.location=/ca.pem"]}, ENV)
    conf = cfg.consumer_conf()
    assert conf["security.protocol"] == "SSL"
    assert conf["sasl.password"] == "hunter2"
    assert conf["ssl.ca.location"] == "/ca.pem"
    assert conf["enable.auto.commit"] is False
    assert conf["isolation.level"] == "read_committed"
    assert cfg.producer_conf()["enable.idempotence"] is True


def test_secrets_are_never_printed() -> None:
    """repr() and describe() mask secret-looking properties."""
    cfg = KafkaConfig.from_sources({}, ENV)
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in str(cfg.describe())
    assert cfg.describe()["properties"]["sasl.password"] == "***"


@pytest.mark.parametrize(("flags", "fragment"), [
    ({"bootstrap_servers": ""}, "bootstrap servers"),
    ({"delivery": "exactly-once"}, "transactional id"),
    ({"delivery": "twice"}, "delivery must be one of"),
    ({"properties": ["enable.auto.commit=true"]}, "set by the stage itself"),
    ({"properties": ["no-equals-sign"]}, "NAME=VALUE"),
])
def test_bad_settings_say_how_to_fix_them(flags: dict[str, object], fragment: str) -> None:
    """Each mistake raises KafkaConfigError naming the flag or env var to set."""
    with pytest.raises(KafkaConfigError, match=fragment):
        KafkaConfig.from_sources(flags, ENV)


def test_parse_properties_keeps_equals_in_values() -> None:
    """Only the first = splits (JAAS configs contain more)."""
    assert parse_properties(["sasl.jaas.config=a=b"]) == {"sasl.jaas.config": "a=b"}
