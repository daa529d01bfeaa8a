"""`poll_sqs`: receive S3 notifications from an SQS queue, turn them into evidence, hand it on, delete.

A message is deleted only after `on_evidence` returned, so a crash re-delivers it (and the evidence ids
are deterministic, so the store skips what it already has). A transport failure reading an object leaves
its message on the queue for redelivery after the visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from signal_factory.ingest.s3.ingester import S3ObjectIngester, S3TransportError
from signal_factory.model.evidence import Evidence

log = logging.getLogger(__name__)


class SqsClient(Protocol):
    """The part of a boto3 SQS client the poller uses."""

    def receive_message(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_message(self, **kwargs: Any) -> Any: ...


def poll_sqs_once(sqs: SqsClient, queue_url: str, ingester: S3ObjectIngester,
                  on_evidence: Callable[[list[Evidence]], None], *, max_messages: int = 10,
                  wait_s: int = 20) -> int:
    """One receive: returns how many messages were handled (and deleted)."""
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_s)
    handled = 0
    for message in response.get("Messages", []):
        try:
            evidence = ingester.handle_notification(message.get("Body", ""))
        except S3TransportError as e:
            ingester.take_quality()  # counts of objects read before the failure: they come back with the redelivery
            log.warning("leaving SQS message %s for redelivery: %s", message.get("MessageId"), e)
            continue
        on_evidence(evidence)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1
    return handled


def poll_sqs(sqs: SqsClient, queue_url: str, ingester: S3ObjectIngester,
             on_evidence: Callable[[list[Evidence]], None], *, stop: Callable[[], bool],
             max_messages: int = 10, wait_s: int = 20) -> int:
    """Receive until `stop()` says so; returns the number of messages handled."""
    total = 0
    while not stop():
        total += poll_sqs_once(sqs, queue_url, ingester, on_evidence, max_messages=max_messages, wait_s=wait_s)
    return total
