"""The signals topic: every signal the signals stage commits, published for whoever else wants them
(dashboards, another region's alerting, a data catalog), keyed by dataset URN so one dataset's signals
stay in order.

Published inside the store transaction that stores the signals, just before its commit: produce, then
`flush` until the broker acknowledged them all; a failure raises and rolls the transaction back, and a
restart recomputes the same signals (their ids derive from the data). So a signal may be published twice
(a crash between the acknowledgement and the database commit) but is never lost; consumers keep the
last message per `signal_id` (a provisional signal and its final revision have different ids).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import Producer

from signal_factory.signals.model import Signal, encode_signal
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.delivery import Deliveries
from signal_factory.transports.kafka.enforcer_stage import KafkaTransportError

log = logging.getLogger("signal_factory.transports.kafka.signals")
_FLUSH_TIMEOUT_S = 30.0


class SignalPublisher:
    """`publish(signals)`: produce and wait for the acknowledgements (the `ReplayService.publish` hook)."""

    def __init__(self, cfg: KafkaConfig, topic: str) -> None:
        self.topic = topic
        self.published = 0
        self._producer = Producer(cfg.producer_conf())
        self._deliveries = Deliveries()

    def __call__(self, signals: Sequence[Signal]) -> None:
        for signal in signals:
            self._deliveries.send(self._producer, self.topic, signal.dataset_urn.encode(), encode_signal(signal))
        detail = self._deliveries.flush(self._producer, _FLUSH_TIMEOUT_S)
        if detail is not None:
            raise KafkaTransportError(f"signals were not acknowledged on {self.topic!r} ({detail}); the batch was "
                                      "rolled back and is re-processed after a restart (fix: create the topic, or "
                                      "pass --signals-topic none to publish nowhere)")
        self.published += len(signals)

    def close(self) -> None:
        self._producer.flush(_FLUSH_TIMEOUT_S)
