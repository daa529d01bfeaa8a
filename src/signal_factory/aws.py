"""boto3 clients (S3 ingest, the S3 payload store), configured the way AWS tools are.

Region, credentials and endpoints come from boto3's own chain (`AWS_REGION` / `AWS_DEFAULT_REGION`,
`AWS_PROFILE`, instance roles ...; `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS` for
MinIO, LocalStack or moto); `endpoint_url` and `region` given here win over them.
"""

from __future__ import annotations

from typing import Any

from signal_factory.errors import SignalFactoryError


def aws_client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client for `service` ("s3", "sqs"); a clear error when boto3 is not installed."""
    try:
        import boto3  # noqa: PLC0415 - optional dependency (the `s3` extra)
    except ImportError as e:
        raise SignalFactoryError("S3 (object ingest, an s3:// payload store) needs boto3: "
                                 "pip install 'signal-factory[s3]'") from e
    session = boto3.session.Session()
    if region is None and session.region_name is None:
        region = "us-east-1"  # S3's home region; SQS queue URLs name their own region anyway
    return session.client(service, endpoint_url=endpoint_url, region_name=region)
