"""Kafka adapter (optional extra `signal-factory[kafka]`): the only place that imports confluent_kafka.

`config` and `records` import without the client; `enforcer_stage` needs it.
"""

from signal_factory.transports.kafka.config import KafkaConfig, KafkaConfigError
from signal_factory.transports.kafka.records import to_raw_record

__all__ = ["KafkaConfig", "KafkaConfigError", "to_raw_record"]
