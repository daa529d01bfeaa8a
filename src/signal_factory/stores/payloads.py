"""Where large (already PII-redacted) payloads go when evidence carries a `payload_ref`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol


class PayloadStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return a reference URI that `get` accepts."""
        ...

    def get(self, ref: str) -> bytes: ...


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
        return self._path(ref.removeprefix("sha256:")).read_bytes()


class MemoryPayloadStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        ref = f"sha256:{hashlib.sha256(data).hexdigest()}"
        self.blobs[ref] = data
        return ref

    def get(self, ref: str) -> bytes:
        return self.blobs[ref]
