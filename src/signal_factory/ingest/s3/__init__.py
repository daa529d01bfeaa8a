"""Direct object writes (seed 5, "Direct S3 Write"): S3 notifications -> one evidence per object."""

from signal_factory.ingest.s3.ingester import S3ObjectIngester, S3TransportError
from signal_factory.ingest.s3.notifications import MalformedNotification, ObjectRef, parse_notification
from signal_factory.ingest.s3.poller import poll_sqs, poll_sqs_once

__all__ = ["MalformedNotification", "ObjectRef", "S3ObjectIngester", "S3TransportError", "parse_notification",
           "poll_sqs", "poll_sqs_once"]
