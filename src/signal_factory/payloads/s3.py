"""`S3PayloadStore`: payloads as objects under `s3://bucket/prefix`, content-addressed like the file store.

Refs are the objects' URLs (`s3://bucket/prefix/ab/ab12....json`), so evidence names exactly where its
payload is. boto3's configuration chain applies (`AWS_ENDPOINT_URL_S3` for MinIO or moto).
"""

from __future__ import annotations

import hashlib
from typing import Any

from signal_factory.aws import aws_client
from signal_factory.errors import SignalFactoryError
from signal_factory.payloads.files import S3_SCHEME, PayloadMissingError


class S3PayloadStore:
    def __init__(self, url: str, client: Any = None) -> None:
        """`url`: `s3://bucket` or `s3://bucket/prefix`."""
        bucket, _, prefix = url.removeprefix(S3_SCHEME).partition("/")
        if not url.startswith(S3_SCHEME) or not bucket:
            raise SignalFactoryError(f"payload store {url!r} is not an s3://bucket/prefix URL")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = "/".join(p for p in (self.prefix, digest[:2], f"{digest}.json") if p)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")
        return f"{S3_SCHEME}{self.bucket}/{key}"

    def get(self, ref: str) -> bytes:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - boto3 is optional

        bucket, _, key = ref.removeprefix(S3_SCHEME).partition("/")
        if bucket != self.bucket or not key:
            raise PayloadMissingError(ref)
        try:
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                raise PayloadMissingError(ref) from e
            raise SignalFactoryError(f"reading payload {ref} failed: {e}") from e
        return body
