"""Where large (already PII-redacted) payloads go when evidence carries a `payload_ref`: the port, the file
and memory stores (the S3 one is `payload_s3.py`; `payload_location.py` picks one by the setting).

Blobs are content-addressed, so writing the same payload twice is one blob.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

S3_SCHEME = "s3://"


class PayloadStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return a reference URI that `get` accepts."""
        ...

    def get(self, ref: str) -> bytes:
        """The bytes stored under `ref`; raises `PayloadMissingError` when there are none."""
        ...


class PayloadMissingError(LookupError):
    """No payload is stored under this ref (purged, another store, or never written)."""


class FilePayloadStore:
    """Content-addressed files: `sha256:<hex>` -> `<root>/<hex[:2]>/<hex>.json`. Idempotent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.json"

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return f"sha256:{digest}"

    def get(self, ref: str) -> bytes:
        digest = ref.removeprefix("sha256:")
        if not digest.isalnum():  # a ref is a hex digest: never a path that walks out of the root
            raise PayloadMissingError(ref)
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError as e:
            raise PayloadMissingError(ref) from e


class MemoryPayloadStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        ref = f"sha256:{hashlib.sha256(data).hexdigest()}"
        self.blobs[ref] = data
        return ref

    def get(self, ref: str) -> bytes:
        try:
            return self.blobs[ref]
        except KeyError as e:
            raise PayloadMissingError(ref) from e
