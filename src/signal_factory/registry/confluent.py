"""Confluent Schema Registry over its REST API (sync httpx).

Ids: `confluent:<int>` (global schema id) and `confluent:<subject>:<version|latest>`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from signal_factory.errors import RegistryUnavailableError, SchemaNotFoundError
from signal_factory.registry.base import AVRO, SchemaDoc

PREFIX = "confluent:"
_MAX_ID = 2**31 - 1  # Confluent schema ids and versions are positive int32s
_NOT_FOUND_CODES = frozenset({40401, 40402, 40403})
_ACCEPT = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"


class ConfluentSchemaRegistry:
    """A `SchemaSource` backed by a Confluent-compatible schema registry."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, auth: tuple[str, str] | None = None,
                 client: httpx.Client | None = None) -> None:
        self._base = url.rstrip("/")
        self._shown_url = _redact(self._base)
        self._secrets = [s for s in (*(auth or ()), *_userinfo(self._base)) if s]
        self._timeout = httpx.Timeout(timeout_s)
        self._auth = httpx.BasicAuth(*auth) if auth else None
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout)

    def get(self, schema_id: str) -> SchemaDoc:
        """Fetch a schema; `SchemaNotFoundError` if absent, `RegistryUnavailableError` if unreachable."""
        path, by_subject = _path_for(schema_id)
        body = self._get_json(path, schema_id)
        text = body.get("schema")
        schema_type = body.get("schemaType") or AVRO
        if not isinstance(text, str) or not isinstance(schema_type, str):
            raise RegistryUnavailableError(
                f"schema registry at {self._shown_url} sent a malformed answer for {schema_id!r}")
        if not by_subject:
            return SchemaDoc(schema_id, schema_type, text)
        version = body.get("version")
        subject = body.get("subject")
        return SchemaDoc(schema_id, schema_type, text,
                         version=version if isinstance(version, int) else None,
                         subject=subject if isinstance(subject, str) else None)

    def close(self) -> None:
        """Close the HTTP client if this registry created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ConfluentSchemaRegistry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _get_json(self, path: str, schema_id: str) -> dict[str, Any]:
        where = f"schema registry at {self._shown_url}"
        try:
            resp = self._client.get(self._base + path, headers={"Accept": _ACCEPT},
                                    timeout=self._timeout, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.TimeoutException:
            raise RegistryUnavailableError(f"{where} timed out fetching {schema_id!r}") from None
        except httpx.HTTPError as e:
            detail = self._scrub(f"{type(e).__name__}: {e}")
            raise RegistryUnavailableError(f"{where} unreachable fetching {schema_id!r} ({detail})") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        code = body.get("error_code") if isinstance(body, dict) else None
        if resp.status_code == 404 and code in _NOT_FOUND_CODES:
            raise SchemaNotFoundError(f"{where} has no schema {schema_id!r} (error_code {code})")
        if resp.status_code != 200:
            hint = " (no registry error_code: is the url right?)" if resp.status_code == 404 else ""
            raise RegistryUnavailableError(
                f"{where} answered HTTP {resp.status_code} for {schema_id!r}{hint}")
        if not isinstance(body, dict):
            raise RegistryUnavailableError(f"{where} sent a non-JSON answer for {schema_id!r}")
        return body

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _path_for(schema_id: str) -> tuple[str, bool]:
    """REST path for an id, and whether it is a subject/version lookup."""
    if not schema_id.startswith(PREFIX):
        raise SchemaNotFoundError(f"{schema_id!r} is not a confluent schema id (expected {PREFIX}...)")
    ref = schema_id[len(PREFIX):]
    if _ascii_digits(ref):  # not str.isdigit(): "²" is a digit to Python and not to int()
        if not 0 < int(ref) <= _MAX_ID:
            raise SchemaNotFoundError(f"{schema_id!r} is not a confluent schema id (ids run 1..{_MAX_ID})")
        return f"/schemas/ids/{int(ref)}", False
    subject, _, version = ref.rpartition(":")
    if not subject or not ((_ascii_digits(version) and 0 < int(version) <= _MAX_ID) or version == "latest"):
        raise SchemaNotFoundError(
            f"{schema_id!r} is not a confluent schema id "
            "(expected confluent:<id>, confluent:<subject>:<version> or confluent:<subject>:latest)")
    return f"/subjects/{quote(subject, safe='')}/versions/{version}", True


def _ascii_digits(text: str) -> bool:
    return 0 < len(text) <= 10 and text.isascii() and text.isdigit()


def _userinfo(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    return tuple(s for s in (parts.username, parts.password) if s)


def _redact(url: str) -> str:
    """The url without user:password@."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
