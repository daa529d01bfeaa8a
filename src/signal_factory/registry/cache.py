"""Caching resolver in front of a `SchemaSource`, with a last-known-good (LKG) copy for outages.

Immutable refs (anything not ending in `:latest`) are cached for the life of the process; `:latest`
is refetched after `ttl_s`. When the source raises `RegistryUnavailableError`, the last good doc
is served with `stale=True` (from memory, else from `cache_dir`), and the source is probed at most
once per `retry_after_s` until it answers again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import msgspec

from signal_factory.errors import RegistryUnavailableError
from signal_factory.registry.base import ResolvedSchema, SchemaDoc, SchemaSource

_log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Entry(msgspec.Struct):
    doc: SchemaDoc
    fetched_at: float | None  # None: loaded from disk, never fresh


def cache_file_name(schema_id: str) -> str:
    """Filesystem-safe, collision-free file name for a schema id's LKG copy."""
    digest = hashlib.sha256(schema_id.encode("utf-8")).hexdigest()[:16]
    return f"{_UNSAFE.sub('_', schema_id)[:80]}-{digest}.json"


def is_mutable(schema_id: str) -> bool:
    """Whether an id can point at different schemas over time (only `...:latest`)."""
    return schema_id.endswith(":latest")


class CachingSchemaResolver:
    """Resolve schema ids through a source with an in-memory cache and an on-disk LKG."""

    def __init__(self, source: SchemaSource, *, cache_dir: Path | None = None, ttl_s: float = 300.0,
                 retry_after_s: float = 5.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._cache_dir = cache_dir
        self._ttl = ttl_s
        self._retry_after = retry_after_s
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._retry_at: float | None = None  # set while the source is failing

    def resolve(self, schema_id: str) -> ResolvedSchema:
        """The schema for `schema_id`; stale LKG during an outage; raises when there is none."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(schema_id)
            if entry is not None:
                self._entries.move_to_end(schema_id)
                if entry.fetched_at is not None and (
                        not is_mutable(schema_id) or now - entry.fetched_at < self._ttl):
                    return ResolvedSchema(entry.doc)
            probe = self._retry_at is None or now >= self._retry_at
            if probe and self._retry_at is not None:
                self._retry_at = now + self._retry_after  # claim the one probe for this window
        error: RegistryUnavailableError | None = None
        if probe:
            try:
                doc = self._source.get(schema_id)
            except RegistryUnavailableError as e:
                error = e
                with self._lock:
                    self._retry_at = self._clock() + self._retry_after
            else:
                self._remember(schema_id, doc, now)
                return ResolvedSchema(doc)
        lkg = entry.doc if entry is not None else self._load(schema_id)
        if lkg is None:
            if error is not None:
                raise error
            raise RegistryUnavailableError(
                f"schema registry is unavailable and there is no cached copy of {schema_id!r}")
        return ResolvedSchema(lkg, stale=True)

    def _remember(self, schema_id: str, doc: SchemaDoc, now: float) -> None:
        with self._lock:
            self._retry_at = None
            old = self._entries.get(schema_id)
            self._put(schema_id, _Entry(doc, now))
        if old is None or old.doc != doc:
            self._save(schema_id, doc)

    def _put(self, schema_id: str, entry: _Entry) -> None:
        self._entries[schema_id] = entry
        self._entries.move_to_end(schema_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def _load(self, schema_id: str) -> SchemaDoc | None:
        """LKG from disk, or None when absent or unreadable (corrupt files are ignored)."""
        if self._cache_dir is None:
            return None
        path = self._cache_dir / cache_file_name(schema_id)
        try:
            doc = msgspec.json.decode(path.read_bytes(), type=SchemaDoc)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        if doc.schema_id != schema_id:
            return None
        with self._lock:
            if schema_id not in self._entries:
                self._put(schema_id, _Entry(doc, None))
        return doc

    def _save(self, schema_id: str, doc: SchemaDoc) -> None:
        """Write the LKG atomically (temp file + os.replace); failures are logged, never raised."""
        if self._cache_dir is None:
            return
        tmp: str | None = None
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._cache_dir, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "wb") as f:
                f.write(msgspec.json.encode(doc))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._cache_dir / cache_file_name(schema_id))
            tmp = None
        except OSError as e:
            _log.warning("could not write schema cache for %r in %s: %s", schema_id, self._cache_dir, e)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
