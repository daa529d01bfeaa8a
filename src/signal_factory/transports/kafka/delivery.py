"""Sends whose acknowledgements are checked: the part every producing stage shares.

`send` retries while librdkafka's local queue is full; `flush` waits for every delivery report and says
what did not make it (None when the broker acknowledged everything), so the caller decides what a
failure means for its offsets or its store transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaError, Message, Producer


class Deliveries:
    """The delivery reports of one producer's sends since the last `flush`."""

    def __init__(self, on_error: Callable[[], None] | None = None) -> None:
        self._errors: list[str] = []
        self._on_error = on_error

    def send(self, producer: Producer, topic: str, key: bytes, value: bytes,
             headers: list[tuple[str, str | bytes | None]] | None = None) -> None:
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=self._delivered)
                return
            except BufferError:
                producer.poll(0.05)  # local queue full: serve delivery reports, then retry

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err.str()}")
            if self._on_error is not None:
                self._on_error()

    def flush(self, producer: Producer, timeout_s: float) -> str | None:
        """Wait for every outstanding send; None if all were acknowledged, else what went wrong."""
        left = producer.flush(timeout_s)
        if not left and not self._errors:
            return None
        detail = "; ".join(self._errors[:3]) or f"{left} messages still queued after {timeout_s}s"
        self._errors.clear()
        return detail
