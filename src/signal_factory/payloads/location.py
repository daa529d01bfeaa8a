"""Which payload store a process uses, and reading a `payload_ref` back.

One setting names the store, `SIGNAL_FACTORY_PAYLOAD_STORE`: a directory (default
`<SIGNAL_FACTORY_HOME>/payloads`) or `s3://bucket/prefix`. A file store's refs are `sha256:<hex>` (read
from the configured directory); an S3 store's refs are the object's own URL
(`s3://bucket/prefix/<hex[:2]>/<hex>.json`); they read back from the configured location only.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from signal_factory.model.evidence import Evidence
from signal_factory.payloads.files import S3_SCHEME, FilePayloadStore, PayloadMissingError, PayloadStore
from signal_factory.payloads.s3 import S3PayloadStore
from signal_factory.settings import Settings


def open_payload_store(location: str | None, home: Path) -> PayloadStore:
    """The store `location` names: `s3://bucket/prefix`, a directory, or (None) `<home>/payloads`."""
    if location and location.startswith(S3_SCHEME):
        return S3PayloadStore(location)
    return FilePayloadStore(Path(location) if location else home / "payloads")


def read_payload(ref: str, location: str | None, home: Path) -> bytes:
    """The payload behind an evidence's `payload_ref`: an `s3://` ref from the configured S3 store, a
    `sha256:` ref from the configured directory. Raises `PayloadMissingError`."""
    if ref.startswith(S3_SCHEME):
        # Only from the configured S3 store: evidence posted by others must not make us read other buckets.
        if not (location and location.startswith(S3_SCHEME) and ref.startswith(location.rstrip("/") + "/")):
            raise PayloadMissingError(f"{ref} is not under the configured payload store ({location or 'a directory'})")
        return S3PayloadStore(location).get(ref)
    if not ref.startswith("sha256:"):  # e.g. `omitted:too-large`: nothing was stored
        raise PayloadMissingError(ref)
    store = FilePayloadStore(Path(location) if location and not location.startswith(S3_SCHEME)
                             else home / "payloads")
    return store.get(ref)


def evidence_payload(ev: Evidence, settings: Settings) -> bytes:
    """An evidence's payload as JSON bytes, as it was stored (PII-redacted): the inline copy, else the blob its
    `payload_ref` names. Raises `PayloadMissingError` saying why there is none."""
    if ev.payload is not None:
        return msgspec.json.encode(ev.payload)
    if ev.payload_ref is None:
        raise PayloadMissingError(f"evidence {ev.evidence_id} carries no payload (evidence.payload is `none`, or "
                                  "`failures` and this record passed)")
    try:
        return read_payload(ev.payload_ref, settings.payload_store, settings.home)
    except PayloadMissingError as e:
        raise PayloadMissingError(f"the payload of evidence {ev.evidence_id} ({ev.payload_ref}) is not in the "
                                  "payload store (purged, too large to keep, or another SIGNAL_FACTORY_PAYLOAD_STORE)"
                                  ) from e
